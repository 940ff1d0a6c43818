using System.Text.Json;
using Dapper;

namespace Dispatch.Storage;

public sealed partial class SqlStore
{
    /// <summary>The dependency states that keep a task from ever running until an operator acts.</summary>
    private const string HopelessDependency = """
        SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on_pk
        WHERE d.task_pk = tasks.id AND dt.state IN ('deadletter', 'cancelled', 'blocked')
        """;

    /// <summary>Bounds the passes over a chain of dependents; each pass moves one more link.</summary>
    private const int MaxBlockingRounds = 64;

    /// <summary>
    /// Blocks pending tasks whose dependency is dead-lettered, cancelled or
    /// blocked, and unblocks the tasks this pass blocked once the cause clears
    /// (an operator retried the dependency). Repeats until a chain of dependents settles.
    /// </summary>
    public async Task<BlockingChanges> UpdateDependencyBlocksAsync(CancellationToken cancellationToken = default)
    {
        var blocked = new List<AffectedTask>();
        var unblocked = new List<AffectedTask>();
        for (var round = 0; round < MaxBlockingRounds; round++)
        {
            var (newlyBlocked, newlyUnblocked) = await WriteAsync(async (connection, transaction) =>
            {
                var block = (await connection.QueryAsync<AffectedTask>(new CommandDefinition(
                    $"""
                    UPDATE tasks SET state = 'blocked', blocked_kind = 'dependency', updated_at = {dialect.Now},
                        blocked_reason = (SELECT 'dependency ' || dt.project || '/' || dt.task_id || ' is ' || dt.state
                                          FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on_pk
                                          WHERE d.task_pk = tasks.id AND dt.state IN ('deadletter', 'cancelled', 'blocked')
                                          ORDER BY dt.id LIMIT 1)
                    WHERE state = 'pending' AND EXISTS ({HopelessDependency})
                    RETURNING id, project, task_id, attempt, blocked_reason AS reason
                    """,
                    Parameters(), transaction, cancellationToken: cancellationToken))).ToList();
                var unblock = (await connection.QueryAsync<AffectedTask>(new CommandDefinition(
                    $"""
                    UPDATE tasks SET state = 'pending', blocked_kind = NULL, blocked_reason = NULL, updated_at = {dialect.Now}
                    WHERE state = 'blocked' AND blocked_kind = 'dependency' AND NOT EXISTS ({HopelessDependency})
                    RETURNING id, project, task_id, attempt, NULL AS reason
                    """,
                    Parameters(), transaction, cancellationToken: cancellationToken))).ToList();
                foreach (var task in block)
                {
                    await AppendEventAsync(connection, transaction, "blocked", task.Project, task.TaskId, null, null, new { reason = task.Reason }, cancellationToken);
                }

                foreach (var task in unblock)
                {
                    await AppendEventAsync(connection, transaction, "unblocked", task.Project, task.TaskId, null, null, new { reason = "dependency recovered" }, cancellationToken);
                }

                if (unblock.Count > 0)
                {
                    await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
                }

                return (block, unblock);
            }, cancellationToken);

            blocked.AddRange(newlyBlocked);
            unblocked.AddRange(newlyUnblocked);
            if (newlyBlocked.Count == 0 && newlyUnblocked.Count == 0)
            {
                break;
            }
        }

        if (unblocked.Count > 0)
        {
            OnTaskReleased();
        }

        return new BlockingChanges(blocked, unblocked);
    }

    /// <summary>Returns the executor names of pending tasks that no online, unquarantined node offers.</summary>
    public Task<IReadOnlyList<string>> ListUnservedExecutorsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<string>>(async connection =>
        {
            var wanted = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT DISTINCT executor FROM tasks WHERE state = 'pending'", cancellationToken: cancellationToken))).ToList();
            var offered = (await connection.QueryAsync<string>(new CommandDefinition(
                $"SELECT {(dialect.Backend == DatabaseBackend.Postgres ? "executors::text" : "executors")} FROM nodes WHERE state = 'online'",
                cancellationToken: cancellationToken)))
                .SelectMany(json => JsonSerializer.Deserialize<List<string>>(json) ?? [])
                .ToHashSet(StringComparer.Ordinal);
            if (offered.Contains("*"))
            {
                return [];
            }

            return wanted.Where(e => !offered.Contains(e)).Order(StringComparer.Ordinal).ToList();
        }, cancellationToken);

    /// <summary>
    /// Quarantines online nodes whose last <paramref name="failures"/> finished
    /// attempts since their last release all failed; returns the node names.
    /// </summary>
    public Task<IReadOnlyList<string>> QuarantineFailingNodesAsync(int failures, CancellationToken cancellationToken = default) =>
        WriteAsync<IReadOnlyList<string>>(async (connection, transaction) =>
        {
            var nodes = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT name FROM nodes WHERE state = 'online'", transaction: transaction, cancellationToken: cancellationToken))).ToList();
            var quarantined = new List<string>();
            foreach (var node in nodes)
            {
                var outcomes = (await connection.QueryAsync<string>(new CommandDefinition(
                    """
                    SELECT a.outcome FROM attempts a JOIN nodes n ON n.name = a.node
                    WHERE a.node = @node AND a.outcome IN ('completed', 'failed')
                      AND (n.failures_reset_at IS NULL OR a.finished_at > n.failures_reset_at)
                    ORDER BY a.finished_at DESC LIMIT @failures
                    """,
                    new { node, failures }, transaction, cancellationToken: cancellationToken))).ToList();
                if (outcomes.Count < failures || outcomes.Any(o => o != TaskStates.Failed))
                {
                    continue;
                }

                var reason = $"last {failures} attempts on this node failed";
                var changed = await connection.ExecuteAsync(new CommandDefinition(
                    $"""
                    UPDATE nodes SET state = 'quarantined', quarantined_at = {dialect.Now}, quarantine_reason = @reason
                    WHERE name = @node AND state = 'online'
                    """,
                    Parameters(new { node, reason }), transaction, cancellationToken: cancellationToken));
                if (changed == 1)
                {
                    quarantined.Add(node);
                    await AppendEventAsync(connection, transaction, "node_quarantined", null, null, node, null, new { reason }, cancellationToken);
                }
            }

            return quarantined;
        }, cancellationToken);

    /// <summary>Releases quarantined nodes: the named one, or (name null) those quarantined longer than <paramref name="coolDown"/>.</summary>
    public Task<IReadOnlyList<string>> ReleaseQuarantineAsync(string? name, TimeSpan coolDown, CancellationToken cancellationToken = default) =>
        WriteAsync<IReadOnlyList<string>>(async (connection, transaction) =>
        {
            var released = (await connection.QueryAsync<string>(new CommandDefinition(
                $"""
                UPDATE nodes SET state = 'online', quarantined_at = NULL, quarantine_reason = NULL, failures_reset_at = {dialect.Now}
                WHERE state = 'quarantined' AND (@name IS NULL AND quarantined_at < @cutoff OR name = @name)
                RETURNING name
                """,
                Parameters(new { name, cutoff = dialect.TimeValue(clock.GetUtcNow() - coolDown) }), transaction, cancellationToken: cancellationToken))).ToList();
            foreach (var node in released)
            {
                await AppendEventAsync(connection, transaction, "node_released", null, null, node, null,
                    new { reason = name is null ? "cool-down passed" : "released by an operator" }, cancellationToken);
            }

            return released;
        }, cancellationToken);

    /// <summary>Returns the schema version, which also checks that the database is reachable.</summary>
    public Task<int> PingAsync(CancellationToken cancellationToken = default) => GetSchemaVersionAsync(cancellationToken);
}
