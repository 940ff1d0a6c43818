using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Dispatch.Storage;

/// <summary>Rows of one table: in the SQLite store, newly copied, and found in PostgreSQL after the copy.</summary>
public sealed record TableCopy(string Table, long Source, long Copied, long Verified);

/// <summary>
/// Copies a SQLite store into PostgreSQL: every task, dependency, path, lock,
/// attempt, node and event. Rows are matched on their natural keys
/// (project + task id, node name, or every column of an event), so a second
/// run copies nothing. Task ids differ between the stores and are remapped.
/// All writes happen in one transaction.
/// </summary>
public static class SqliteImporter
{
    private sealed record TableSpec(string Name, string[] Columns, string[] Times, string[] Json, string[] TaskReferences, string Conflict);

    private static readonly TableSpec[] Tables =
    [
        new("tasks",
            ["project", "task_id", "state", "blocked_reason", "blocked_kind", "priority", "estimated_minutes", "timeout_seconds", "depends_on",
             "modifies", "exclusive", "executor", "max_retries", "metadata", "spec_path", "spec_hash", "spec_content", "attempt", "retry_base",
             "lease_owner", "lease_expires_at", "node", "not_before", "last_error", "created_at", "updated_at", "started_at", "finished_at", "collected_at"],
            ["lease_expires_at", "not_before", "created_at", "updated_at", "started_at", "finished_at", "collected_at"],
            ["depends_on", "modifies", "metadata"], [], "ON CONFLICT (project, task_id) DO NOTHING"),
        new("task_dependencies", ["task_pk", "depends_on_pk"], [], [], ["task_pk", "depends_on_pk"], "ON CONFLICT DO NOTHING"),
        new("task_paths", ["task_pk", "path"], [], [], ["task_pk"], "ON CONFLICT DO NOTHING"),
        new("locks", ["project", "path", "task_pk", "attempt", "acquired_at"], ["acquired_at"], [], ["task_pk"], "ON CONFLICT DO NOTHING"),
        new("attempts",
            ["task_pk", "attempt", "lease_owner", "node", "claimed_at", "started_at", "finished_at", "outcome", "exit_code", "error", "log_path"],
            ["claimed_at", "started_at", "finished_at"], [], ["task_pk"], "ON CONFLICT DO NOTHING"),
        new("nodes",
            ["name", "state", "slots", "executors", "version", "worker_id", "running_count", "quarantined_at", "quarantine_reason",
             "failures_reset_at", "started_at", "heartbeat_at"],
            ["quarantined_at", "failures_reset_at", "started_at", "heartbeat_at"], ["executors"], [], "ON CONFLICT (name) DO NOTHING"),
        new("events", ["at", "project", "task_id", "type", "node", "attempt", "details"], ["at"], ["details"], [], ""),
    ];

    private static readonly HashSet<string> IntegerColumns =
        ["priority", "estimated_minutes", "timeout_seconds", "max_retries", "attempt", "retry_base", "slots", "running_count", "exit_code"];

    public static async Task<IReadOnlyList<TableCopy>> CopyAsync(string sqlitePath, SqlStore target, CancellationToken cancellationToken)
    {
        if (!File.Exists(sqlitePath))
        {
            throw new FileNotFoundException($"SQLite store \"{sqlitePath}\" not found: pass the path of a dispatch.db file.", sqlitePath);
        }

        if (target.Target.Backend != DatabaseBackend.Postgres)
        {
            throw new DatabaseConfigurationException(
                $"import-sqlite copies into PostgreSQL, but DISPATCH_DB_URL is {target.Target.Display}: point it at the PostgreSQL server.");
        }

        // Read-only, so a store on a read-only disk or owned by another user can still be copied.
        var readOnly = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(sqlitePath), Mode = SqliteOpenMode.ReadOnly }.ToString();
        await using var reader = new SqliteConnection(readOnly);
        long sourceVersion;
        try
        {
            await reader.OpenAsync(cancellationToken);
            await using var version = reader.CreateCommand();
            version.CommandText = "SELECT MAX(version) FROM schema_migrations";
            sourceVersion = Convert.ToInt64(await version.ExecuteScalarAsync(cancellationToken) is long v ? v : 0);
        }
        catch (SqliteException ex)
        {
            throw new InvalidDataException($"cannot read SQLite store \"{sqlitePath}\" ({ex.Message}): check that it is a dispatch.db file and readable.", ex);
        }

        var latest = target.Migrations[^1].Version;
        if (sourceVersion != latest)
        {
            throw new SchemaTooNewException(
                $"SQLite store \"{sqlitePath}\" has schema version {sourceVersion}, this build expects {latest}: " +
                (sourceVersion < latest ? "open it once with this build (dispatch migrate) first." : "use the dispatch version that wrote it."));
        }

        await target.MigrateAsync(cancellationToken);
        await using var writer = (NpgsqlConnection)await target.Dialect.OpenAsync(cancellationToken);
        await using var transaction = await writer.BeginTransactionAsync(cancellationToken);

        var idMap = new Dictionary<long, long>();
        var results = new List<TableCopy>();
        foreach (var table in Tables)
        {
            results.Add(await CopyTableAsync(reader, writer, transaction, table, idMap, cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    private static async Task<TableCopy> CopyTableAsync(
        SqliteConnection reader, NpgsqlConnection writer, NpgsqlTransaction transaction, TableSpec table, Dictionary<long, long> idMap, CancellationToken cancellationToken)
    {
        var selectColumns = table.Name == "tasks" ? ["id", .. table.Columns] : table.Columns;
        await using var select = reader.CreateCommand();
        select.CommandText = $"SELECT {string.Join(", ", selectColumns)} FROM {table.Name}";
        await using var rows = await select.ExecuteReaderAsync(cancellationToken);

        long source = 0, copied = 0, verified = 0;
        var conflicts = new List<string>();
        while (await rows.ReadAsync(cancellationToken))
        {
            source++;
            await using var insert = new NpgsqlCommand { Connection = writer, Transaction = transaction };
            var values = new List<string>();
            foreach (var column in table.Columns)
            {
                var value = rows.GetValue(rows.GetOrdinal(column));
                values.Add(AddParameter(insert, table, column, value, idMap));
            }

            var columns = string.Join(", ", table.Columns);
            insert.CommandText = table.Name == "events"
                ? $"""
                  INSERT INTO events ({columns}) SELECT {string.Join(", ", values)}
                  WHERE NOT EXISTS (SELECT 1 FROM events WHERE at = @at AND type = @type AND project IS NOT DISTINCT FROM @project
                      AND task_id IS NOT DISTINCT FROM @task_id AND node IS NOT DISTINCT FROM @node
                      AND attempt IS NOT DISTINCT FROM @attempt AND details = CAST(@details AS jsonb))
                  """
                : $"INSERT INTO {table.Name} ({columns}) VALUES ({string.Join(", ", values)}) {table.Conflict}";
            copied += await insert.ExecuteNonQueryAsync(cancellationToken);

            if (table.Name == "tasks")
            {
                await using var lookup = new NpgsqlCommand(
                    "SELECT id, state, attempt, spec_hash FROM tasks WHERE project = @p AND task_id = @t", writer, transaction);
                lookup.Parameters.AddWithValue("p", rows.GetString(rows.GetOrdinal("project")));
                lookup.Parameters.AddWithValue("t", rows.GetString(rows.GetOrdinal("task_id")));
                await using var found = await lookup.ExecuteReaderAsync(cancellationToken);
                await found.ReadAsync(cancellationToken);
                idMap[rows.GetInt64(0)] = found.GetInt64(0);

                // A task already there with another history belongs to another store: merging would mix the two.
                var (state, attempt, hash) = (rows.GetString(rows.GetOrdinal("state")), rows.GetInt64(rows.GetOrdinal("attempt")), rows.GetString(rows.GetOrdinal("spec_hash")));
                if (found.GetString(1) != state || found.GetInt32(2) != attempt || found.GetString(3) != hash)
                {
                    conflicts.Add($"{rows.GetString(rows.GetOrdinal("project"))}/{rows.GetString(rows.GetOrdinal("task_id"))} " +
                                  $"(PostgreSQL: {found.GetString(1)}, attempt {found.GetInt32(2)}; SQLite: {state}, attempt {attempt})");
                }

                verified++;
            }
            else
            {
                verified += await ExistsAsync(writer, transaction, table, insert, cancellationToken) ? 1 : 0;
            }
        }

        if (conflicts.Count > 0)
        {
            throw new InvalidDataException(
                $"{conflicts.Count} tasks are already in PostgreSQL with another history, for example {string.Join("; ", conflicts.Take(3))}. " +
                "import-sqlite copies a store into an empty database, or repeats the copy of the same store; nothing was copied.");
        }

        return new TableCopy(table.Name, source, copied, verified);
    }

    /// <summary>Checks that the row just offered is now in PostgreSQL, by its key columns.</summary>
    private static async Task<bool> ExistsAsync(NpgsqlConnection writer, NpgsqlTransaction transaction, TableSpec table, NpgsqlCommand insert, CancellationToken cancellationToken)
    {
        string[] keys = table.Name switch
        {
            "task_dependencies" => ["task_pk", "depends_on_pk"],
            "task_paths" => ["task_pk", "path"],
            "locks" => ["project", "path", "task_pk"],
            "attempts" => ["task_pk", "attempt"],
            "nodes" => ["name"],
            _ => ["at", "type", "project", "task_id", "node", "attempt"],
        };
        await using var check = new NpgsqlCommand { Connection = writer, Transaction = transaction };
        check.CommandText = $"SELECT EXISTS (SELECT 1 FROM {table.Name} WHERE {string.Join(" AND ", keys.Select(k => $"{k} IS NOT DISTINCT FROM @{k}"))})";
        foreach (var key in keys)
        {
            var parameter = insert.Parameters[key];
            check.Parameters.Add(new NpgsqlParameter(key, parameter.NpgsqlDbType) { Value = parameter.Value });
        }

        return (bool)(await check.ExecuteScalarAsync(cancellationToken))!;
    }

    private static string AddParameter(NpgsqlCommand command, TableSpec table, string column, object value, Dictionary<long, long> idMap)
    {
        var isNull = value is DBNull;
        NpgsqlParameter parameter;
        if (table.Times.Contains(column))
        {
            parameter = new NpgsqlParameter(column, NpgsqlDbType.TimestampTz)
            {
                Value = isNull ? DBNull.Value : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value)).UtcDateTime,
            };
        }
        else if (table.TaskReferences.Contains(column))
        {
            var sourceId = Convert.ToInt64(value);
            if (!idMap.TryGetValue(sourceId, out var targetId))
            {
                throw new InvalidDataException($"{table.Name}.{column} refers to task {sourceId}, which the SQLite store does not contain.");
            }

            parameter = new NpgsqlParameter(column, NpgsqlDbType.Bigint) { Value = targetId };
        }
        else if (column == "exclusive")
        {
            parameter = new NpgsqlParameter(column, NpgsqlDbType.Boolean) { Value = Convert.ToInt64(value) != 0 };
        }
        else if (IntegerColumns.Contains(column))
        {
            parameter = new NpgsqlParameter(column, NpgsqlDbType.Integer) { Value = isNull ? DBNull.Value : checked((int)Convert.ToInt64(value)) };
        }
        else
        {
            parameter = new NpgsqlParameter(column, NpgsqlDbType.Text) { Value = value };
        }

        command.Parameters.Add(parameter);
        return table.Json.Contains(column) ? $"CAST(@{column} AS jsonb)" : $"@{column}";
    }
}
