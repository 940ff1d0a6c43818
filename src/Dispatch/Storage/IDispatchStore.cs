using Dispatch.Scheduling;
using Dispatch.Specs;

namespace Dispatch.Storage;

/// <summary>
/// Every read and write Dispatch makes, named by intent. Each write that a
/// worker makes is fenced on (task, attempt, lease owner) and returns false when
/// the lease was lost, so a stale worker can never change another attempt's row.
/// </summary>
public interface IDispatchStore : IAsyncDisposable
{
    DatabaseTarget Target { get; }

    /// <summary>Applies pending migrations under a lock, so concurrent callers apply each exactly once.</summary>
    Task<int> MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns the highest applied migration version, or 0 for an empty database.</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates and updates tasks from specs, then re-resolves every dependency and blocks what cannot run.</summary>
    Task<ImportSummary> ImportAsync(IReadOnlyList<TaskSpec> specs, ImportDefaults defaults, CancellationToken cancellationToken = default);

    /// <summary>Appends one event that is not a task transition (a rejected spec, a warning).</summary>
    Task AppendEventAsync(string type, string? project, string? taskId, object details, CancellationToken cancellationToken = default);

    /// <summary>Atomically claims the most urgent runnable task for a worker, or returns null.</summary>
    Task<ClaimedTask?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default);

    Task<bool> MarkRunningAsync(Lease lease, string? logPath, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease; false means it was lost (expired and reclaimed, or the task was cancelled).</summary>
    Task<bool> HeartbeatAsync(Lease lease, TimeSpan leaseTtl, CancellationToken cancellationToken = default);

    /// <summary>Records the end of an attempt and releases its locks; false when the lease was lost.</summary>
    Task<bool> FinishAsync(Lease lease, RunResult result, CancellationToken cancellationToken = default);

    /// <summary>Hands an unfinished attempt back to pending without spending it (graceful shutdown).</summary>
    Task<bool> ReleaseAsync(Lease lease, string reason, CancellationToken cancellationToken = default);

    Task RegisterNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default);

    Task HeartbeatNodeAsync(string name, string workerId, int runningCount, CancellationToken cancellationToken = default);

    Task MarkNodeOfflineAsync(string name, string workerId, CancellationToken cancellationToken = default);

    Task<OperatorOutcome> RetryAsync(long taskPk, CancellationToken cancellationToken = default);

    Task<OperatorOutcome> CancelAsync(long taskPk, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<StateCount>> CountByStateAsync(string? project, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TaskRow>> ListTasksAsync(string? project, CancellationToken cancellationToken = default);

    /// <summary>Finds tasks by <c>project/task_id</c> or by a bare task id (possibly in several projects).</summary>
    Task<IReadOnlyList<TaskRow>> FindTasksAsync(string reference, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TaskKey>> GetDependenciesAsync(long taskPk, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AttemptRow>> GetAttemptsAsync(long taskPk, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<EventRow>> GetEventsAsync(EventQuery query, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<NodeRow>> ListNodesAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns the held locks as (project, path, task) for checks and the orphan sweep.</summary>
    Task<IReadOnlyList<(string Project, string Path, long TaskPk)>> ListLocksAsync(CancellationToken cancellationToken = default);
}
