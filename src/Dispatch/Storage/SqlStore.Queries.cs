using Dapper;
using Dispatch.Scheduling;

namespace Dispatch.Storage;

public sealed partial class SqlStore
{
    private const string TaskColumns = """
        id, project, task_id, state, blocked_reason, priority, estimated_minutes, timeout_seconds,
        depends_on, modifies, exclusive, executor, max_retries, spec_path, spec_hash, attempt, retry_base,
        lease_owner, lease_expires_at, node, not_before, last_error, created_at, updated_at, started_at, finished_at
        """;

    public Task<IReadOnlyList<StateCount>> CountByStateAsync(string? project, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<StateCount>>(async connection => (await connection.QueryAsync<StateCount>(new CommandDefinition(
            """
            SELECT project, state, COUNT(*) AS count FROM tasks
            WHERE (@project IS NULL OR project = @project)
            GROUP BY project, state ORDER BY project, state
            """,
            new { project }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

    /// <summary>Counts pending tasks waiting for a retry time (<c>not_before</c>) still in the future.</summary>
    public Task<long> CountDeferredAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(connection => connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(*) FROM tasks WHERE state = 'pending' AND not_before > {dialect.Now}",
            Parameters(), cancellationToken: cancellationToken)), cancellationToken);

    public Task<IReadOnlyList<TaskRow>> ListTasksAsync(string? project, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<TaskRow>>(async connection => (await connection.QueryAsync<TaskRow>(new CommandDefinition(
            $"SELECT {TaskColumns} FROM tasks WHERE (@project IS NULL OR project = @project) ORDER BY project, priority, task_id",
            new { project }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

    public Task<IReadOnlyList<TaskRow>> FindTasksAsync(string reference, CancellationToken cancellationToken = default)
    {
        var slash = reference.LastIndexOf('/');
        string? project = slash > 0 ? reference[..slash] : null;
        var taskId = slash >= 0 ? reference[(slash + 1)..] : reference;
        return ReadAsync<IReadOnlyList<TaskRow>>(async connection => (await connection.QueryAsync<TaskRow>(new CommandDefinition(
            $"SELECT {TaskColumns} FROM tasks WHERE task_id = @taskId AND (@project IS NULL OR project = @project) ORDER BY project",
            new { project, taskId }, cancellationToken: cancellationToken))).ToList(), cancellationToken);
    }

    public Task<IReadOnlyList<TaskKey>> GetDependenciesAsync(long taskPk, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<TaskKey>>(async connection => (await connection.QueryAsync<(string Project, string TaskId)>(new CommandDefinition(
            """
            SELECT t.project, t.task_id FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_pk
            WHERE d.task_pk = @taskPk ORDER BY t.project, t.task_id
            """,
            new { taskPk }, cancellationToken: cancellationToken))).Select(r => new TaskKey(r.Project, r.TaskId)).ToList(), cancellationToken);

    public Task<IReadOnlyList<AttemptRow>> GetAttemptsAsync(long taskPk, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<AttemptRow>>(async connection => (await connection.QueryAsync<AttemptRow>(new CommandDefinition(
            """
            SELECT attempt, lease_owner, node, claimed_at, started_at, finished_at, outcome, exit_code, error, log_path
            FROM attempts WHERE task_pk = @taskPk ORDER BY attempt
            """,
            new { taskPk }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

    public Task<IReadOnlyList<EventRow>> GetEventsAsync(EventQuery query, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<EventRow>>(async connection => (await connection.QueryAsync<EventRow>(new CommandDefinition(
            $"""
            SELECT id, at, project, task_id, type, node, attempt, {(dialect.Backend == DatabaseBackend.Postgres ? "details::text AS details" : "details")}
            FROM events
            WHERE id > @afterId AND (@project IS NULL OR project = @project) AND (@taskId IS NULL OR task_id = @taskId)
            ORDER BY id LIMIT @limit
            """,
            new { afterId = query.AfterId, project = query.Task?.Project, taskId = query.Task?.TaskId, limit = query.Limit },
            cancellationToken: cancellationToken))).ToList(), cancellationToken);

    public Task<IReadOnlyList<NodeRow>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<NodeRow>>(async connection => (await connection.QueryAsync<NodeRow>(new CommandDefinition(
            $"""
            SELECT name, state, slots, {(dialect.Backend == DatabaseBackend.Postgres ? "executors::text AS executors" : "executors")},
                version, worker_id, running_count, started_at, heartbeat_at
            FROM nodes ORDER BY name
            """,
            cancellationToken: cancellationToken))).ToList(), cancellationToken);

    public Task<IReadOnlyList<(string Project, string Path, long TaskPk)>> ListLocksAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<(string Project, string Path, long TaskPk)>>(async connection =>
            (await connection.QueryAsync<(string, string, long)>(new CommandDefinition(
                "SELECT project, path, task_pk FROM locks ORDER BY project, path", cancellationToken: cancellationToken))).ToList(),
            cancellationToken);

    public Task RegisterNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            var parameters = Parameters(new
            {
                name = node.Name,
                workerId = node.WorkerId,
                slots = node.Slots,
                executors = System.Text.Json.JsonSerializer.Serialize(node.Executors),
                version = node.Version,
            });
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE nodes SET state = CASE WHEN state = 'quarantined' THEN state ELSE 'online' END, slots = @slots,
                    executors = {dialect.Json("@executors")}, version = @version, worker_id = @workerId, running_count = 0,
                    started_at = {dialect.Now}, heartbeat_at = {dialect.Now}
                WHERE name = @name
                """,
                parameters, transaction, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    $"""
                    INSERT INTO nodes (name, state, slots, executors, version, worker_id, running_count, started_at, heartbeat_at)
                    VALUES (@name, 'online', @slots, {dialect.Json("@executors")}, @version, @workerId, 0, {dialect.Now}, {dialect.Now})
                    """,
                    parameters, transaction, cancellationToken: cancellationToken));
            }

            await AppendEventAsync(connection, transaction, "node_online", null, null, node.Name, null,
                new { worker = node.WorkerId, slots = node.Slots, executors = node.Executors, version = node.Version }, cancellationToken);
            return 0;
        }, cancellationToken);

    public Task HeartbeatNodeAsync(string name, string workerId, int runningCount, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE nodes SET heartbeat_at = {dialect.Now}, running_count = @runningCount,
                state = CASE WHEN state = 'offline' THEN 'online' ELSE state END
            WHERE name = @name
            """,
            Parameters(new { name, runningCount }), transaction, cancellationToken: cancellationToken)), cancellationToken);

    public Task MarkNodeOfflineAsync(string name, string workerId, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE nodes SET state = 'offline', running_count = 0, heartbeat_at = {dialect.Now}
                WHERE name = @name AND worker_id = @workerId AND state = 'online'
                """,
                Parameters(new { name, workerId }), transaction, cancellationToken: cancellationToken));
            if (changed == 1)
            {
                await AppendEventAsync(connection, transaction, "node_offline", null, null, name, null, new { worker = workerId, reason = "worker stopped" }, cancellationToken);
            }

            return changed;
        }, cancellationToken);
}
