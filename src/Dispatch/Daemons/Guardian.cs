using Dispatch.Scheduling;
using Dispatch.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Daemons;

/// <summary>Settings of the guardian, under <c>Guardian</c> in configuration.</summary>
public sealed class GuardianOptions
{
    /// <summary>A node whose heartbeat is older than this many seconds is marked offline. Must exceed the worker heartbeat (a quarter of the lease).</summary>
    public double NodeStaleSeconds { get; set; } = 90;

    /// <summary>Seconds past a run's timeout before the guardian fails it; the worker's own kill should come first.</summary>
    public double TimeoutGraceSeconds { get; set; } = 120;

    /// <summary>Consecutive failed attempts on one node that quarantine it; 0 turns quarantine off.</summary>
    public int QuarantineAfterFailures { get; set; } = 5;

    /// <summary>Minutes a quarantined node waits before it is released automatically.</summary>
    public double QuarantineCoolDownMinutes { get; set; } = 30;

    /// <summary>Free bytes on the data folder's disk below which the guardian warns.</summary>
    public long MinFreeDiskBytes { get; set; } = 1L << 30;
}

/// <summary>
/// Watches tasks, nodes and the dependency graph. It marks silent nodes
/// offline, fails runs far past their timeout, and blocks tasks whose
/// dependencies can no longer complete, unblocking them when the cause clears.
/// It also warns about executors that no node offers, quarantines failing
/// nodes, and checks the database schema and the free disk space.
/// </summary>
public sealed partial class Guardian : DaemonLoop
{
    private readonly SqlStore store;
    private readonly GuardianOptions guardian;
    private readonly string dataDirectory;
    private readonly HashSet<string> warnedExecutors = new(StringComparer.Ordinal);
    private bool warnedDisk;
    private readonly ILogger logger;

    public Guardian(SqlStore store, DaemonOptions options, GuardianOptions guardian, string dataDirectory, TimeProvider clock, ILogger logger,
        WakeSignal? wake = null, string? hangFile = null)
        : base("guardian", options, clock, logger, wake, hangFile)
    {
        this.store = store;
        this.logger = logger;
        this.guardian = guardian;
        this.dataDirectory = dataDirectory;
    }

    public override async Task<PassResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var result = new PassResult();
        var schema = await store.PingAsync(cancellationToken);
        var latest = store.Migrations.Count == 0 ? 0 : store.Migrations[^1].Version;
        if (schema < latest)
        {
            throw new InvalidOperationException($"database schema version {schema} is older than this build's {latest}: run 'dispatch migrate'.");
        }

        foreach (var node in await store.MarkStaleNodesOfflineAsync(TimeSpan.FromSeconds(guardian.NodeStaleSeconds), cancellationToken))
        {
            LogNodeOffline(node, guardian.NodeStaleSeconds);
            result.Add("nodes_offline", 1);
        }

        foreach (var task in await store.FailOverdueRunsAsync(TimeSpan.FromSeconds(guardian.TimeoutGraceSeconds), cancellationToken))
        {
            LogRunOverdue(task.Project, task.TaskId, task.Attempt, task.Node ?? "?");
            result.Add("runs_overdue", 1);
        }

        var blocking = await store.UpdateDependencyBlocksAsync(cancellationToken);
        foreach (var task in blocking.Blocked)
        {
            LogBlocked(task.Project, task.TaskId, task.Reason ?? "");
        }

        foreach (var task in blocking.Unblocked)
        {
            LogUnblocked(task.Project, task.TaskId);
        }

        result.Add("blocked", blocking.Blocked.Count).Add("unblocked", blocking.Unblocked.Count);
        result.Add("executors_unserved", await WarnUnservedExecutorsAsync(cancellationToken));

        if (guardian.QuarantineAfterFailures > 0)
        {
            foreach (var node in await store.QuarantineFailingNodesAsync(guardian.QuarantineAfterFailures, cancellationToken))
            {
                LogQuarantined(node, guardian.QuarantineAfterFailures);
                result.Add("nodes_quarantined", 1);
            }

            foreach (var node in await store.ReleaseQuarantineAsync(null, TimeSpan.FromMinutes(guardian.QuarantineCoolDownMinutes), cancellationToken))
            {
                LogReleased(node);
                result.Add("nodes_released", 1);
            }
        }

        result.Add("disk_low", await CheckDiskAsync(cancellationToken));
        return result;
    }

    /// <summary>
    /// Appends one <c>executor_unserved</c> warning per executor while no online
    /// node offers it. Once a node offers it again, a later outage warns again.
    /// </summary>
    private async Task<int> WarnUnservedExecutorsAsync(CancellationToken cancellationToken)
    {
        // NOTE: the "once" is per guardian process; two replicas each warn once.
        var unserved = await store.ListUnservedExecutorsAsync(cancellationToken);
        warnedExecutors.IntersectWith(unserved);
        var warned = 0;
        foreach (var executor in unserved.Where(e => warnedExecutors.Add(e)))
        {
            await store.AppendEventAsync("executor_unserved", null, null,
                new { executor, message = $"pending tasks need executor \"{executor}\" but no online node offers it" }, cancellationToken);
            LogExecutorUnserved(executor);
            warned++;
        }

        return warned;
    }

    private async Task<int> CheckDiskAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory);
        var free = new DriveInfo(Path.GetFullPath(dataDirectory)).AvailableFreeSpace;
        if (free >= guardian.MinFreeDiskBytes)
        {
            warnedDisk = false;
            return 0;
        }

        if (!warnedDisk)
        {
            warnedDisk = true;
            LogDiskLow(Path.GetFullPath(dataDirectory), free);
            await store.AppendEventAsync("disk_low", null, null, new { path = Path.GetFullPath(dataDirectory), free_bytes = free }, cancellationToken);
        }

        return 1;
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Node {Node} marked offline: no heartbeat for {Seconds} s")]
    private partial void LogNodeOffline(string node, double seconds);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Task {Project}/{TaskId} attempt {Attempt} failed: ran past its timeout on node {Node}")]
    private partial void LogRunOverdue(string project, string taskId, int attempt, string node);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "Task {Project}/{TaskId} blocked: {Reason}")]
    private partial void LogBlocked(string project, string taskId, string reason);

    [LoggerMessage(EventId = 603, Level = LogLevel.Information, Message = "Task {Project}/{TaskId} unblocked: its dependency recovered")]
    private partial void LogUnblocked(string project, string taskId);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Pending tasks need executor {Executor} but no online node offers it")]
    private partial void LogExecutorUnserved(string executor);

    [LoggerMessage(EventId = 605, Level = LogLevel.Warning, Message = "Node {Node} quarantined: its last {Failures} attempts failed")]
    private partial void LogQuarantined(string node, int failures);

    [LoggerMessage(EventId = 606, Level = LogLevel.Information, Message = "Node {Node} released from quarantine after its cool-down")]
    private partial void LogReleased(string node);

    [LoggerMessage(EventId = 607, Level = LogLevel.Warning, Message = "Free disk space low on {Path}: {FreeBytes} bytes left")]
    private partial void LogDiskLow(string path, long freeBytes);
}
