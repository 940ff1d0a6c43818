using Dispatch.Executors;

namespace Dispatch.Configuration;

/// <summary>
/// Settings read from <c>dispatch.json</c> (or the file named by
/// <c>DISPATCH_CONFIG</c>) and from <c>DISPATCH_*</c> environment variables,
/// which win. Nested keys use <c>__</c> in variable names, as in
/// <c>DISPATCH_Executors__glm__Command__0=opencode</c>.
/// </summary>
public sealed class DispatchOptions
{
    /// <summary>Executor used by specs that name none.</summary>
    public string DefaultExecutor { get; set; } = "shell";

    /// <summary>Retries after the first attempt for specs without <c>max_retries</c>.</summary>
    public int MaxRetries { get; set; } = Specs.SpecDefaults.MaxRetries;

    /// <summary>Lease length in seconds; workers heartbeat every quarter of it. Must exceed a few database round trips.</summary>
    public double LeaseTtlSeconds { get; set; } = 60;

    /// <summary>Folder for per-attempt work directories and logs.</summary>
    public string DataDir { get; set; } = ".dispatch";

    /// <summary>Size cap of one attempt's log in bytes; the tail is kept.</summary>
    public long LogMaxBytes { get; set; } = 1024 * 1024;

    /// <summary>Seconds between SIGTERM and SIGKILL when a run is stopped.</summary>
    public double KillGraceSeconds { get; set; } = 30;

    /// <summary>Seconds an idle worker waits before it polls again when no wake-up arrives.</summary>
    public double PollIntervalSeconds { get; set; } = 2;

    /// <summary>Seconds a stopping worker lets running tasks finish before it hands them back.</summary>
    public double DrainSeconds { get; set; } = 30;

    public Dictionary<string, ExecutorDefinition> Executors { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Checks cross-field rules; returns one message per problem, naming the setting and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (LeaseTtlSeconds < 2)
        {
            problems.Add($"LeaseTtlSeconds is {LeaseTtlSeconds}: use at least 2 seconds (default 60).");
        }

        if (MaxRetries < 0)
        {
            problems.Add($"MaxRetries is {MaxRetries}: use 0 or more (default 3).");
        }

        if (PollIntervalSeconds <= 0)
        {
            problems.Add($"PollIntervalSeconds is {PollIntervalSeconds}: use a positive number (default 2).");
        }

        if (LogMaxBytes < 1024)
        {
            problems.Add($"LogMaxBytes is {LogMaxBytes}: use at least 1024 (default 1048576).");
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            problems.Add("DataDir is empty: name a folder for attempt directories and logs (default .dispatch).");
        }

        if (KillGraceSeconds < 0 || DrainSeconds < 0)
        {
            problems.Add("KillGraceSeconds and DrainSeconds must not be negative.");
        }

        foreach (var (name, executor) in Executors)
        {
            if (executor.Command.Length == 0)
            {
                problems.Add($"Executors:{name}:Command is empty: give the program and its arguments as a list, e.g. [\"bash\", \"{{spec_file}}\"].");
            }

            if (executor.Prompt is not ("stdin" or "none"))
            {
                problems.Add($"Executors:{name}:Prompt is \"{executor.Prompt}\": use \"stdin\" or \"none\".");
            }
        }

        return problems;
    }
}
