using Dispatch.Scheduling;
using Dispatch.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Daemons;

/// <summary>Settings of the reaper, under <c>Reaper</c> in configuration.</summary>
public sealed class ReaperOptions
{
    /// <summary>Delay before the first retry; each further retry doubles it.</summary>
    public double BackoffBaseSeconds { get; set; } = 30;

    /// <summary>Longest delay between retries.</summary>
    public double BackoffCapSeconds { get; set; } = 30 * 60;

    /// <summary>Random spread of each delay, as a fraction (0.2 = ±20 %), so retries of many tasks do not line up.</summary>
    public double BackoffJitter { get; set; } = 0.2;

    /// <summary>Events older than this many days are deleted.</summary>
    public double EventRetentionDays { get; set; } = 30;

    /// <summary>Attempt folders (work directory and log) older than this many days are deleted from the data folder.</summary>
    public double LogRetentionDays { get; set; } = 14;

    /// <summary>Failed tasks decided per pass.</summary>
    public int BatchSize { get; set; } = 500;
}

/// <summary>
/// Reclaims and retries. Expired leases become failures, and failures become
/// pending again after a backoff, or dead-letters when the retry budget is
/// spent. It also stamps completed tasks as collected, sweeps orphaned locks,
/// resyncs node running counts and prunes old events and logs.
/// </summary>
public sealed partial class Reaper : DaemonLoop
{
    private readonly SqlStore store;
    private readonly ReaperOptions reaper;
    private readonly string dataDirectory;
    private readonly TimeProvider clock;
    private readonly Random random;
    private readonly ILogger logger;

    public Reaper(SqlStore store, DaemonOptions options, ReaperOptions reaper, string dataDirectory, TimeProvider clock, ILogger logger,
        WakeSignal? wake = null, string? hangFile = null, Random? random = null)
        : base("reaper", options, clock, logger, wake, hangFile)
    {
        this.store = store;
        this.logger = logger;
        this.reaper = reaper;
        this.dataDirectory = dataDirectory;
        this.clock = clock;
        this.random = random ?? Random.Shared;
    }

    /// <summary>The delay before retry number <paramref name="attemptsUsed"/>: base × 2^(n−1) spread by the jitter, never above the cap.</summary>
    public TimeSpan Backoff(int attemptsUsed)
    {
        var exponent = Math.Clamp(attemptsUsed - 1, 0, 30);
        var spread = 1 + reaper.BackoffJitter * (2 * random.NextDouble() - 1);
        var seconds = Math.Min(reaper.BackoffBaseSeconds * Math.Pow(2, exponent) * spread, reaper.BackoffCapSeconds);
        return TimeSpan.FromSeconds(seconds);
    }

    public override async Task<PassResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var result = new PassResult();
        foreach (var task in await store.ExpireLeasesAsync(cancellationToken))
        {
            LogLeaseExpired(task.Project, task.TaskId, task.Attempt, task.Node ?? "?");
            result.Add("lease_expired", 1);
        }

        foreach (var task in await store.ListFailedTasksAsync(reaper.BatchSize, cancellationToken))
        {
            if (task.HasRetriesLeft)
            {
                var delay = Backoff(task.AttemptsUsed);
                if (await store.ScheduleRetryAsync(task, clock.GetUtcNow() + delay, cancellationToken))
                {
                    LogRetryScheduled(task.Project, task.TaskId, task.Attempt, delay.TotalSeconds);
                    result.Add("retry_scheduled", 1);
                }
            }
            else if (await store.DeadLetterAsync(task, cancellationToken))
            {
                LogDeadLettered(task.Project, task.TaskId, task.AttemptsUsed, task.LastError ?? "");
                result.Add("deadlettered", 1);
            }
        }

        result.Add("collected", await store.StampCollectedAsync(cancellationToken));

        var orphans = await store.SweepOrphanedLocksAsync(cancellationToken);
        if (orphans > 0)
        {
            LogOrphanedLocks(orphans);
            result.Add("orphaned_locks", orphans);
        }

        result.Add("node_counts_fixed", await store.ResyncNodeCountsAsync(cancellationToken));
        result.Add("events_pruned", await store.PruneEventsAsync(TimeSpan.FromDays(reaper.EventRetentionDays), cancellationToken));
        result.Add("logs_pruned", PruneAttemptFolders());
        return result;
    }

    /// <summary>Deletes attempt folders under DATA/runs older than the log retention; returns how many.</summary>
    private int PruneAttemptFolders()
    {
        var runs = Path.Combine(dataDirectory, "runs");
        if (!Directory.Exists(runs))
        {
            return 0;
        }

        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(reaper.LogRetentionDays);
        var pruned = 0;
        foreach (var attempt in Directory.EnumerateDirectories(runs, "attempt-*", SearchOption.AllDirectories))
        {
            try
            {
                if (Directory.GetLastWriteTimeUtc(attempt) < cutoff.UtcDateTime)
                {
                    Directory.Delete(attempt, recursive: true);
                    pruned++;
                }
            }
            catch (IOException)
            {
                // A folder still in use is left for a later pass.
            }
        }

        return pruned;
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Task {Project}/{TaskId} attempt {Attempt} failed: lease expired on node {Node}")]
    private partial void LogLeaseExpired(string project, string taskId, int attempt, string node);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Task {Project}/{TaskId} attempt {Attempt} will be retried in {Seconds:0} s")]
    private partial void LogRetryScheduled(string project, string taskId, int attempt, double seconds);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Task {Project}/{TaskId} dead-lettered after {Attempts} attempts: {LastError}")]
    private partial void LogDeadLettered(string project, string taskId, int attempts, string lastError);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "Swept {Count} orphaned locks: locks must be released with their task's transition, so this is a bug")]
    private partial void LogOrphanedLocks(int count);
}
