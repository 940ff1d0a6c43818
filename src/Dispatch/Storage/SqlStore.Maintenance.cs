using System.Data.Common;
using Dapper;

namespace Dispatch.Storage;

/// <summary>
/// The set-based statements of the daemons. Each one checks, inside its own
/// WHERE clause, the state it expects, so two replicas running the same pass
/// at once change every row at most once.
/// </summary>
public sealed partial class SqlStore
{
    /// <summary>Fails every claimed or running task whose lease has expired, releasing its locks.</summary>
    public async Task<IReadOnlyList<AffectedTask>> ExpireLeasesAsync(CancellationToken cancellationToken = default)
    {
        var expired = await WriteAsync(async (connection, transaction) =>
        {
            var rows = (await connection.QueryAsync<AffectedTask>(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'failed',
                    last_error = 'lease expired: worker ' || COALESCE(lease_owner, '?') || ' stopped heartbeating',
                    lease_owner = NULL, lease_expires_at = NULL, finished_at = {dialect.Now}, updated_at = {dialect.Now}
                WHERE state IN ('claimed', 'running') AND lease_expires_at < {dialect.Now}
                RETURNING id, project, task_id, attempt, node, last_error AS reason
                """,
                Parameters(), transaction, cancellationToken: cancellationToken))).ToList();
            foreach (var task in rows)
            {
                await EndAttemptAsync(connection, transaction, task, "failed", "lease_expired", cancellationToken);
            }

            return rows;
        }, cancellationToken);
        return expired;
    }

    /// <summary>Fails running tasks past their timeout plus <paramref name="grace"/>: the backstop for a wedged worker.</summary>
    public async Task<IReadOnlyList<AffectedTask>> FailOverdueRunsAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var overdue = dialect.Backend == DatabaseBackend.Postgres
            ? $"started_at + make_interval(secs => timeout_seconds + @grace) < {dialect.Now}"
            : $"started_at + (timeout_seconds + @grace) * 1000 < {dialect.Now}";
        return await WriteAsync(async (connection, transaction) =>
        {
            var rows = (await connection.QueryAsync<AffectedTask>(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'failed',
                    last_error = 'run exceeded its timeout of ' || CAST(timeout_seconds / 60 AS TEXT) || ' min plus grace; the worker on ' || COALESCE(node, '?') || ' did not stop it',
                    lease_owner = NULL, lease_expires_at = NULL, finished_at = {dialect.Now}, updated_at = {dialect.Now}
                WHERE state = 'running' AND started_at IS NOT NULL AND {overdue}
                RETURNING id, project, task_id, attempt, node, last_error AS reason
                """,
                Parameters(new { grace = grace.TotalSeconds }), transaction, cancellationToken: cancellationToken))).ToList();
            foreach (var task in rows)
            {
                await EndAttemptAsync(connection, transaction, task, "failed", "run_overdue", cancellationToken);
            }

            return rows;
        }, cancellationToken);
    }

    private async Task EndAttemptAsync(DbConnection connection, DbTransaction transaction, AffectedTask task, string outcome, string eventType, CancellationToken cancellationToken)
    {
        await ReleaseLocksAsync(connection, transaction, task.Id, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE attempts SET finished_at = {dialect.Now}, outcome = @outcome, error = @reason
            WHERE task_pk = @id AND attempt = @attempt AND finished_at IS NULL
            """,
            Parameters(new { id = task.Id, attempt = task.Attempt, outcome, reason = task.Reason }), transaction, cancellationToken: cancellationToken));
        await AppendEventAsync(connection, transaction, eventType, task.Project, task.TaskId, task.Node, task.Attempt,
            new { error = task.Reason }, cancellationToken);
    }

    public Task<IReadOnlyList<FailedTask>> ListFailedTasksAsync(int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<FailedTask>>(async connection => (await connection.QueryAsync<FailedTask>(new CommandDefinition(
            """
            SELECT id, project, task_id, attempt, retry_base, max_retries, last_error FROM tasks
            WHERE state = 'failed' ORDER BY updated_at, id LIMIT @limit
            """,
            new { limit }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

    /// <summary>Moves a failed task back to pending, claimable from <paramref name="notBefore"/>; false if it is no longer that failed attempt.</summary>
    public async Task<bool> ScheduleRetryAsync(FailedTask task, DateTimeOffset notBefore, CancellationToken cancellationToken = default)
    {
        var scheduled = await WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'pending', not_before = @notBefore, node = NULL, updated_at = {dialect.Now}
                WHERE id = @id AND state = 'failed' AND attempt = @attempt
                """,
                Parameters(new { id = task.Id, attempt = task.Attempt, notBefore = dialect.TimeValue(notBefore) }), transaction, cancellationToken: cancellationToken));
            if (changed == 1)
            {
                await AppendEventAsync(connection, transaction, "retry_scheduled", task.Project, task.TaskId, null, task.Attempt,
                    new { not_before = notBefore.ToUniversalTime().ToString("O"), attempts_used = task.AttemptsUsed, max_retries = task.MaxRetries }, cancellationToken);
                await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            }

            return changed == 1;
        }, cancellationToken);
        if (scheduled)
        {
            OnTaskReleased();
        }

        return scheduled;
    }

    public Task<bool> DeadLetterAsync(FailedTask task, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'deadletter', updated_at = {dialect.Now}
                WHERE id = @id AND state = 'failed' AND attempt = @attempt
                """,
                Parameters(new { id = task.Id, attempt = task.Attempt }), transaction, cancellationToken: cancellationToken));
            if (changed == 1)
            {
                await AppendEventAsync(connection, transaction, "deadlettered", task.Project, task.TaskId, null, task.Attempt,
                    new { attempts = task.AttemptsUsed, max_retries = task.MaxRetries, last_error = task.LastError }, cancellationToken);
                await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            }

            return changed == 1;
        }, cancellationToken);

    public Task<int> StampCollectedAsync(CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE tasks SET collected_at = {dialect.Now} WHERE state = 'completed' AND collected_at IS NULL",
            Parameters(), transaction, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Deletes locks whose task no longer holds them (not claimed or running, or another attempt); any hit means a bug.</summary>
    public Task<int> SweepOrphanedLocksAsync(CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM locks WHERE NOT EXISTS (
                SELECT 1 FROM tasks t WHERE t.id = locks.task_pk AND t.state IN ('claimed', 'running') AND t.attempt = locks.attempt)
            """,
            transaction: transaction, cancellationToken: cancellationToken)), cancellationToken);

    public Task<int> ResyncNodeCountsAsync(CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE nodes SET running_count = (SELECT COUNT(*) FROM tasks t WHERE t.node = nodes.name AND t.state IN ('claimed', 'running'))
            WHERE running_count <> (SELECT COUNT(*) FROM tasks t WHERE t.node = nodes.name AND t.state IN ('claimed', 'running'))
            """,
            transaction: transaction, cancellationToken: cancellationToken)), cancellationToken);

    public Task<int> PruneEventsAsync(TimeSpan retention, CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM events WHERE at < @cutoff",
            new { cutoff = dialect.TimeValue(clock.GetUtcNow() - retention) }, transaction, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Marks online nodes whose heartbeat is older than <paramref name="staleAfter"/> as offline.</summary>
    public Task<IReadOnlyList<string>> MarkStaleNodesOfflineAsync(TimeSpan staleAfter, CancellationToken cancellationToken = default) =>
        WriteAsync<IReadOnlyList<string>>(async (connection, transaction) =>
        {
            var names = (await connection.QueryAsync<string>(new CommandDefinition(
                """
                UPDATE nodes SET state = 'offline', running_count = 0
                WHERE state = 'online' AND heartbeat_at < @cutoff
                RETURNING name
                """,
                new { cutoff = dialect.TimeValue(clock.GetUtcNow() - staleAfter) }, transaction, cancellationToken: cancellationToken))).ToList();
            foreach (var name in names)
            {
                await AppendEventAsync(connection, transaction, "node_offline", null, null, name, null,
                    new { reason = $"no heartbeat for {staleAfter.TotalSeconds:0} s" }, cancellationToken);
            }

            return names;
        }, cancellationToken);
}
