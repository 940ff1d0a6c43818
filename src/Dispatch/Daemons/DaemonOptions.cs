namespace Dispatch.Daemons;

/// <summary>
/// Settings shared by every daemon loop, under <c>Daemons:NAME</c> in
/// configuration (for example <c>DISPATCH_Daemons__reaper__IntervalSeconds=5</c>).
/// </summary>
public sealed class DaemonOptions
{
    /// <summary>Seconds between passes when no wake-up arrives.</summary>
    public double IntervalSeconds { get; set; } = 5;

    /// <summary>
    /// Seconds without a successful pass after which /health reports 503. Must
    /// exceed the interval; a loop stuck in one pass for twice this long exits
    /// the process so that a supervisor restarts it.
    /// </summary>
    public double UnhealthyAfterSeconds { get; set; } = 60;

    /// <summary>Longest random delay before the first pass, so replicas started together do not run in lockstep.</summary>
    public double StartJitterSeconds { get; set; } = 1;

    public IReadOnlyList<string> Validate(string name)
    {
        var problems = new List<string>();
        if (IntervalSeconds <= 0)
        {
            problems.Add($"Daemons:{name}:IntervalSeconds is {IntervalSeconds}: use a positive number of seconds.");
        }

        if (UnhealthyAfterSeconds <= IntervalSeconds)
        {
            problems.Add($"Daemons:{name}:UnhealthyAfterSeconds ({UnhealthyAfterSeconds}) must exceed IntervalSeconds ({IntervalSeconds}), or a healthy loop would be reported unhealthy between passes.");
        }

        return problems;
    }
}
