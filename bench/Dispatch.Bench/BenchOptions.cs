using System.Globalization;

namespace Dispatch.Bench;

/// <summary>Command-line options of the benchmark.</summary>
internal sealed record BenchOptions
{
    public static readonly string[] AllScenarios = ["throughput", "hangfire", "import", "scale"];

    public string? PostgresUrl { get; init; }
    public int Runs { get; init; } = 3;

    /// <summary>Run ANALYZE after seeding: a diagnostic that shows how much planner statistics change the numbers.</summary>
    public bool Analyze { get; init; }
    public int Workers { get; init; } = 16;
    public int ThroughputTasks { get; init; } = 4_000;
    public int ThroughputProjects { get; init; } = 1;
    public int ImportSpecs { get; init; } = 10_000;
    public int ScaleTasks { get; init; } = 100_000;
    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;

    public const string Usage = """
        usage: dotnet run -c Release --project bench/Dispatch.Bench -- [options] [scenario...]

        Scenarios (default: all of them):
          throughput  claim + complete of no-op tasks by concurrent workers, SQLite and PostgreSQL
          hangfire    the PostgreSQL throughput run next to Hangfire.PostgreSql's fetch + remove (needs --pg)
          import      one ImportAsync of in-code specs with dependencies, SQLite and PostgreSQL
          scale       status reads and single claims over many stored pending tasks, SQLite and PostgreSQL

        Options:
          --pg URI              PostgreSQL server where the benchmark may create and drop databases;
                                without it only the SQLite cases run
          --runs N              measured runs per case, the median is reported (default 3)
          --workers N           concurrent workers or Hangfire fetchers (default 16)
          --tasks N             tasks per throughput run (default 4000)
          --projects N          projects the throughput tasks are spread over (default 1)
          --import-specs N      specs per import run (default 10000)
          --scale-tasks N       stored tasks for the scale runs (default 100000)
          --analyze             run ANALYZE after seeding each database, before the clock starts; a
                                diagnostic, because Dispatch never runs ANALYZE itself
          -h, --help            print this help
        """;

    /// <summary>Parses the arguments and throws <see cref="ArgumentException"/> with a printable message for an invalid one.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        var scenarios = new List<string>();
        for (var index = 0; index < args.Count; index++)
        {
            var arg = args[index];
            string Value()
            {
                if (index + 1 >= args.Count)
                {
                    throw new ArgumentException($"option {arg} is missing its value");
                }

                return args[++index];
            }

            int Count()
            {
                var text = Value();
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
                {
                    throw new ArgumentException($"option {arg} needs a positive whole number, got \"{text}\"");
                }

                return value;
            }

            options = arg switch
            {
                "--pg" => options with { PostgresUrl = Value() },
                "--analyze" => options with { Analyze = true },
                "--runs" => options with { Runs = Count() },
                "--workers" => options with { Workers = Count() },
                "--tasks" => options with { ThroughputTasks = Count() },
                "--projects" => options with { ThroughputProjects = Count() },
                "--import-specs" => options with { ImportSpecs = Count() },
                "--scale-tasks" => options with { ScaleTasks = Count() },
                _ when arg.StartsWith('-') => throw new ArgumentException($"unknown option {arg}"),
                _ when AllScenarios.Contains(arg) => AddScenario(options, scenarios, arg),
                _ => throw new ArgumentException($"unknown scenario \"{arg}\": use one of {string.Join(", ", AllScenarios)}"),
            };
        }

        return scenarios.Count == 0 ? options : options with { Scenarios = scenarios };
    }

    private static BenchOptions AddScenario(BenchOptions options, List<string> scenarios, string scenario)
    {
        if (!scenarios.Contains(scenario))
        {
            scenarios.Add(scenario);
        }

        return options;
    }
}
