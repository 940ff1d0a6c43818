using Dispatch.Bench;
using Dispatch.Storage;

BenchOptions options;
try
{
    if (args.Contains("-h") || args.Contains("--help"))
    {
        Console.WriteLine(BenchOptions.Usage);
        return 0;
    }

    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"dispatch-bench: {ex.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

Console.WriteLine("Dispatch storage benchmark");
foreach (var line in MachineInfo.Describe())
{
    Console.WriteLine($"  {line}");
}

if (options.PostgresUrl is null)
{
    Console.WriteLine("  PostgreSQL: not given (--pg), so only the SQLite cases run and the Hangfire comparison is skipped");
}
else
{
    Console.WriteLine($"  {await MachineInfo.DescribePostgresAsync(options.PostgresUrl)}");
}

Console.WriteLine($"  runs per case: {options.Runs}, medians reported");
Console.WriteLine();

var runner = new ScenarioRunner(options, new BenchDatabases(options.PostgresUrl));
foreach (var scenario in options.Scenarios)
{
    await runner.RunAsync(scenario);
}

runner.PrintSummary();
return 0;
