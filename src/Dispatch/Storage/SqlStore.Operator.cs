using Dapper;

namespace Dispatch.Storage;

public sealed partial class SqlStore
{
    private sealed class TaskState
    {
        public string Project { get; init; } = "";
        public string TaskId { get; init; } = "";
        public string State { get; init; } = "";
        public int Attempt { get; init; }
        public string? Node { get; init; }
    }

    /// <summary>
    /// Brings a failed, dead-lettered, cancelled or blocked task back to pending
    /// with a fresh retry budget: the attempts made so far stop counting.
    /// </summary>
    public async Task<OperatorOutcome> RetryAsync(long taskPk, CancellationToken cancellationToken = default)
    {
        var outcome = await WriteAsync(async (connection, transaction) =>
        {
            var task = await connection.QuerySingleOrDefaultAsync<TaskState>(new CommandDefinition(
                "SELECT project, task_id, state, attempt, node FROM tasks WHERE id = @taskPk", new { taskPk }, transaction, cancellationToken: cancellationToken));
            if (task is null)
            {
                return OperatorOutcome.NotFound;
            }

            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'pending', retry_base = attempt, not_before = NULL, blocked_kind = NULL,
                    blocked_reason = NULL, last_error = NULL, updated_at = {dialect.Now}
                WHERE id = @taskPk AND state IN ('failed', 'deadletter', 'cancelled', 'blocked')
                """,
                Parameters(new { taskPk }), transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return OperatorOutcome.WrongState;
            }

            await AppendEventAsync(connection, transaction, "retried", task.Project, task.TaskId, null, task.Attempt,
                new { previous_state = task.State }, cancellationToken);

            // A task blocked by the graph goes straight back to blocked if its cause remains.
            await ResolveDependenciesAsync(connection, transaction, cancellationToken);
            await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            return OperatorOutcome.Done;
        }, cancellationToken);

        if (outcome == OperatorOutcome.Done)
        {
            OnTaskReleased();
        }

        return outcome;
    }

    /// <summary>
    /// Cancels a task that has not finished. Its locks are released at once; a
    /// worker running it finds its lease gone at the next heartbeat and kills the executor.
    /// </summary>
    public async Task<OperatorOutcome> CancelAsync(long taskPk, CancellationToken cancellationToken = default)
    {
        var outcome = await WriteAsync(async (connection, transaction) =>
        {
            var task = await connection.QuerySingleOrDefaultAsync<TaskState>(new CommandDefinition(
                "SELECT project, task_id, state, attempt, node FROM tasks WHERE id = @taskPk", new { taskPk }, transaction, cancellationToken: cancellationToken));
            if (task is null)
            {
                return OperatorOutcome.NotFound;
            }

            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = {dialect.Now},
                    updated_at = {dialect.Now}
                WHERE id = @taskPk AND state IN ('pending', 'blocked', 'claimed', 'running', 'failed')
                """,
                Parameters(new { taskPk }), transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return OperatorOutcome.WrongState;
            }

            await ReleaseLocksAsync(connection, transaction, taskPk, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE attempts SET finished_at = {dialect.Now}, outcome = 'cancelled'
                WHERE task_pk = @taskPk AND attempt = @attempt AND finished_at IS NULL
                """,
                Parameters(new { taskPk, attempt = task.Attempt }), transaction, cancellationToken: cancellationToken));
            await AppendEventAsync(connection, transaction, "cancelled", task.Project, task.TaskId, task.Node, task.Attempt,
                new { previous_state = task.State }, cancellationToken);
            await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            return OperatorOutcome.Done;
        }, cancellationToken);

        if (outcome == OperatorOutcome.Done)
        {
            OnTaskReleased();
        }

        return outcome;
    }
}
