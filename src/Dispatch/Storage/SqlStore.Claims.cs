using System.Data.Common;
using Dapper;
using Dispatch.Scheduling;

namespace Dispatch.Storage;

public sealed partial class SqlStore
{
    /// <summary>How many candidates one claim transaction looks at before giving up.</summary>
    private const int ClaimCandidates = 8;

    private sealed class Candidate
    {
        public long Id { get; init; }
        public string Project { get; init; } = "";
        public string TaskId { get; init; } = "";
        public bool Exclusive { get; init; }
    }

    private sealed class ClaimedRow
    {
        public long Id { get; init; }
        public string Project { get; init; } = "";
        public string TaskId { get; init; } = "";
        public int Attempt { get; init; }
        public string Executor { get; init; } = "";
        public int TimeoutSeconds { get; init; }
        public string Modifies { get; init; } = "";
        public string SpecContent { get; init; } = "";
        public string SpecPath { get; init; } = "";
    }

    /// <summary>
    /// A path conflicts with a held lock when they are equal or one is a
    /// directory prefix of the other (<c>src</c> and <c>src/a.py</c>). The
    /// substr form avoids LIKE, whose wildcards <c>_</c> and <c>%</c> occur in paths.
    /// </summary>
    private const string LockConflict = """
        EXISTS (SELECT 1 FROM task_paths p JOIN locks l ON l.project = t.project
                   AND (l.path = p.path
                        OR substr(l.path, 1, length(p.path) + 1) = p.path || '/'
                        OR substr(p.path, 1, length(l.path) + 1) = l.path || '/')
                WHERE p.task_pk = t.id)
        """;

    /// <summary>An exclusive task needs its project idle, and any other task waits while an exclusive one is claimed or running.</summary>
    private const string ExclusiveConflict = """
        EXISTS (SELECT 1 FROM tasks o WHERE o.project = t.project AND o.state IN ('claimed', 'running')
                AND o.id <> t.id AND (o.exclusive OR t.exclusive))
        """;

    private const string DependenciesUnfinished = """
        EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on_pk
                WHERE d.task_pk = t.id AND dt.state <> 'completed')
        """;

    public async Task<ClaimedTask?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        var executorFilter = request.AnyExecutor ? "" : "AND " + dialect.InList("t.executor", "@executors");
        if (!request.AnyExecutor && request.Executors.Count == 0)
        {
            return null;
        }

        var candidateSql = $"""
            SELECT t.id, t.project, t.task_id, t.exclusive FROM tasks t
            WHERE t.state = 'pending'
              AND (t.not_before IS NULL OR t.not_before <= {dialect.Now})
              {executorFilter}
              AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = @node AND n.state = 'quarantined')
              AND NOT {DependenciesUnfinished}
              AND NOT {LockConflict}
              AND NOT {ExclusiveConflict}
            ORDER BY t.priority, t.id
            LIMIT {ClaimCandidates}
            {dialect.ClaimLockClause}
            """;

        var claimed = await WriteAsync(async (connection, transaction) =>
        {
            var candidates = await connection.QueryAsync<Candidate>(new CommandDefinition(
                candidateSql, Parameters(new { executors = request.Executors.ToArray(), node = request.Node }), transaction, cancellationToken: cancellationToken));
            var lockedProjects = new HashSet<string>(StringComparer.Ordinal);
            foreach (var candidate in candidates)
            {
                var row = await TryClaimAsync(connection, transaction, candidate, request, lockedProjects, cancellationToken);
                if (row is not null)
                {
                    return row;
                }
            }

            return null;
        }, cancellationToken);

        if (claimed is null)
        {
            return null;
        }

        var lease = new Lease(claimed.Id, new TaskKey(claimed.Project, claimed.TaskId), claimed.Attempt, request.Owner, request.Node);
        return new ClaimedTask(
            lease,
            claimed.Executor,
            TimeSpan.FromSeconds(claimed.TimeoutSeconds),
            System.Text.Json.JsonSerializer.Deserialize<List<string>>(claimed.Modifies) ?? [],
            claimed.SpecContent,
            claimed.SpecPath);
    }

    /// <summary>
    /// Re-checks one candidate under the project's claim lock, then claims it:
    /// state, attempt, lease, file locks, attempt row and event in one transaction.
    /// The re-check matters on PostgreSQL, where the candidate query ran before
    /// another transaction may have committed a conflicting claim.
    /// </summary>
    private async Task<ClaimedRow?> TryClaimAsync(
        DbConnection connection, DbTransaction transaction, Candidate candidate, ClaimRequest request,
        HashSet<string> lockedProjects, CancellationToken cancellationToken)
    {
        if (!lockedProjects.Contains(candidate.Project))
        {
            // Waits only for the transaction's first project lock and only tries the later ones. Waiting while
            // it already has a lock could deadlock with a claim that has this project locked and waits for ours.
            var wait = lockedProjects.Count == 0;
            if (!await dialect.LockProjectForClaimAsync(connection, transaction, candidate.Project, wait, cancellationToken))
            {
                return null;
            }

            lockedProjects.Add(candidate.Project);
        }

        var claimSql = $"""
            UPDATE tasks SET state = 'claimed', attempt = attempt + 1, lease_owner = @owner, node = @node,
                lease_expires_at = {dialect.NowPlusSeconds("@ttl")}, not_before = NULL, updated_at = {dialect.Now}
            WHERE id = @id AND state = 'pending'
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = @id AND ({LockConflict} OR {ExclusiveConflict} OR {DependenciesUnfinished}))
            RETURNING id, project, task_id, attempt, executor, timeout_seconds, modifies, spec_content, spec_path
            """;
        var row = await connection.QuerySingleOrDefaultAsync<ClaimedRow>(new CommandDefinition(
            claimSql,
            Parameters(new { id = candidate.Id, owner = request.Owner, node = request.Node, ttl = request.LeaseTtl.TotalSeconds }),
            transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO locks (project, path, task_pk, attempt, acquired_at)
            SELECT @project, path, task_pk, @attempt, {dialect.Now} FROM task_paths WHERE task_pk = @id
            """,
            Parameters(new { id = row.Id, project = row.Project, attempt = row.Attempt }), transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO attempts (task_pk, attempt, lease_owner, node, claimed_at)
            VALUES (@id, @attempt, @owner, @node, {dialect.Now})
            """,
            Parameters(new { id = row.Id, attempt = row.Attempt, owner = request.Owner, node = request.Node }), transaction, cancellationToken: cancellationToken));
        await AppendEventAsync(connection, transaction, "claimed", row.Project, row.TaskId, request.Node, row.Attempt,
            new { worker = request.Owner }, cancellationToken);
        return row;
    }

    /// <summary>The WHERE clause every worker write carries: the lease it was handed must still be current.</summary>
    private const string Fence = "id = @id AND attempt = @attempt AND lease_owner = @owner";

    private DynamicParameters LeaseParameters(Lease lease, object? extra = null)
    {
        var parameters = Parameters(extra);
        parameters.Add("id", lease.TaskPk);
        parameters.Add("attempt", lease.Attempt);
        parameters.Add("owner", lease.Owner);
        return parameters;
    }

    public Task<bool> MarkRunningAsync(Lease lease, string? logPath, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE tasks SET state = 'running', started_at = {dialect.Now}, updated_at = {dialect.Now} WHERE {Fence} AND state = 'claimed'",
                LeaseParameters(lease), transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return false;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE attempts SET started_at = {dialect.Now}, log_path = @logPath WHERE task_pk = @id AND attempt = @attempt",
                LeaseParameters(lease, new { logPath }), transaction, cancellationToken: cancellationToken));
            await AppendEventAsync(connection, transaction, "started", lease.Key.Project, lease.Key.TaskId, lease.Node, lease.Attempt,
                new { worker = lease.Owner }, cancellationToken);
            return true;
        }, cancellationToken);

    public Task<bool> HeartbeatAsync(Lease lease, TimeSpan leaseTtl, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET lease_expires_at = {dialect.NowPlusSeconds("@ttl")}
                WHERE {Fence} AND state IN ('claimed', 'running')
                """,
                LeaseParameters(lease, new { ttl = leaseTtl.TotalSeconds }), transaction, cancellationToken: cancellationToken));
            return changed == 1;
        }, cancellationToken);

    public async Task<bool> FinishAsync(Lease lease, RunResult result, CancellationToken cancellationToken = default)
    {
        var state = result.Succeeded ? TaskStates.Completed : TaskStates.Failed;
        var finished = await WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = @state, lease_owner = NULL, lease_expires_at = NULL, finished_at = {dialect.Now},
                    last_error = @error, updated_at = {dialect.Now}
                WHERE {Fence} AND state IN ('claimed', 'running')
                """,
                LeaseParameters(lease, new { state, error = result.Error }), transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return false;
            }

            await ReleaseLocksAsync(connection, transaction, lease.TaskPk, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE attempts SET finished_at = {dialect.Now}, outcome = @state, exit_code = @exitCode, error = @error,
                    log_path = COALESCE(@logPath, log_path)
                WHERE task_pk = @id AND attempt = @attempt
                """,
                LeaseParameters(lease, new { state, exitCode = result.ExitCode, error = result.Error, logPath = result.LogPath }),
                transaction, cancellationToken: cancellationToken));
            await AppendEventAsync(connection, transaction, state, lease.Key.Project, lease.Key.TaskId, lease.Node, lease.Attempt,
                new { exit_code = result.ExitCode, error = result.Error }, cancellationToken);
            await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            return true;
        }, cancellationToken);

        if (finished)
        {
            OnTaskReleased();
        }

        return finished;
    }

    public async Task<bool> ReleaseAsync(Lease lease, string reason, CancellationToken cancellationToken = default)
    {
        var released = await WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE tasks SET state = 'pending', attempt = attempt - 1, lease_owner = NULL, lease_expires_at = NULL,
                    node = NULL, started_at = NULL, updated_at = {dialect.Now}
                WHERE {Fence} AND state IN ('claimed', 'running')
                """,
                LeaseParameters(lease), transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return false;
            }

            await ReleaseLocksAsync(connection, transaction, lease.TaskPk, cancellationToken);

            // The attempt is given back, so its row goes too: the next claim reuses the number.
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM attempts WHERE task_pk = @id AND attempt = @attempt",
                LeaseParameters(lease), transaction, cancellationToken: cancellationToken));
            await AppendEventAsync(connection, transaction, "released", lease.Key.Project, lease.Key.TaskId, lease.Node, lease.Attempt,
                new { reason }, cancellationToken);
            await dialect.NotifyAsync(connection, transaction, WakeChannel, cancellationToken);
            return true;
        }, cancellationToken);

        if (released)
        {
            OnTaskReleased();
        }

        return released;
    }

    private static Task ReleaseLocksAsync(DbConnection connection, DbTransaction transaction, long taskPk, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM locks WHERE task_pk = @taskPk", new { taskPk }, transaction, cancellationToken: cancellationToken));
}
