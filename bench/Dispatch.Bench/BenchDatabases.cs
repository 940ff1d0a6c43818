using Dapper;
using Dispatch.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Dispatch.Bench;

/// <summary>
/// Creates a fresh, empty database for each measured run and deletes it after:
/// a SQLite file in a temporary folder, or a new database on the PostgreSQL
/// server named by <c>--pg</c>, so no run reads the rows or dead tuples of another.
/// </summary>
internal sealed class BenchDatabases(string? postgresUrl)
{
    public bool HasPostgres => postgresUrl is not null;

    /// <summary>Creates an empty database for <paramref name="backend"/>, with <paramref name="purpose"/> in its name so a leftover is recognisable.</summary>
    public async Task<BenchDatabase> CreateAsync(DatabaseBackend backend, string purpose)
    {
        if (backend == DatabaseBackend.Sqlite)
        {
            var directory = Directory.CreateTempSubdirectory($"dispatch-bench-{purpose}-").FullName;
            var target = DatabaseTarget.Parse(Path.Combine(directory, "dispatch.db"), "sqlite");
            return new BenchDatabase(target, () =>
            {
                // Pooled connections keep the file open, so close them before deleting it.
                SqliteConnection.ClearPool(new SqliteConnection(target.ConnectionString));
                Directory.Delete(directory, recursive: true);
                return Task.CompletedTask;
            });
        }

        if (postgresUrl is null)
        {
            throw new InvalidOperationException("a PostgreSQL run was requested without --pg: pass --pg postgresql://user@host:port/db");
        }

        var server = DatabaseTarget.Parse(postgresUrl, "postgres");
        var name = $"bench_{purpose}_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync(server, $"CREATE DATABASE \"{name}\"");
        var connection = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name };
        var database = DatabaseTarget.Parse(connection.ConnectionString, "postgres");
        return new BenchDatabase(database, async () =>
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteOnServerAsync(server, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        });
    }

    private static async Task ExecuteOnServerAsync(DatabaseTarget server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync(sql);
    }
}

/// <summary>One database made for one run, deleted when disposed.</summary>
internal sealed class BenchDatabase(DatabaseTarget target, Func<Task> delete) : IAsyncDisposable
{
    public DatabaseTarget Target { get; } = target;

    public DatabaseBackend Backend => Target.Backend;

    /// <summary>Opens a store on this database, as one more worker process would, and applies the migrations.</summary>
    public async Task<SqlStore> OpenMigratedStoreAsync()
    {
        var store = SqlStore.Create(Target);
        await store.MigrateAsync();
        return store;
    }

    /// <summary>
    /// Runs ANALYZE, so the query planner has statistics for the rows just seeded.
    /// Dispatch itself never runs it. PostgreSQL's autovacuum analyzes a table once
    /// enough rows changed, looking every autovacuum_naptime (1 min by default),
    /// and SQLite has no statistics until ANALYZE runs.
    /// </summary>
    public async Task AnalyzeAsync()
    {
        await using var connection = Backend == DatabaseBackend.Postgres
            ? (System.Data.Common.DbConnection)new NpgsqlConnection(Target.ConnectionString)
            : new SqliteConnection(Target.ConnectionString);
        await connection.OpenAsync();
        // Dapper would take a command of one word for a stored procedure name, so the command type is explicit.
        await connection.ExecuteAsync(new CommandDefinition("ANALYZE", commandType: System.Data.CommandType.Text));
    }

    /// <summary>
    /// Returns whether the tasks table has planner statistics. On PostgreSQL that means
    /// ANALYZE or autovacuum has analyzed it, and on SQLite that sqlite_stat1 exists.
    /// </summary>
    public async Task<bool> HasPlannerStatisticsAsync()
    {
        if (Backend == DatabaseBackend.Postgres)
        {
            await using var postgres = new NpgsqlConnection(Target.ConnectionString);
            await postgres.OpenAsync();
            return await postgres.ExecuteScalarAsync<bool>(
                "SELECT COALESCE(bool_or(last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL), false) FROM pg_stat_user_tables WHERE relname = 'tasks'");
        }

        await using var sqlite = new SqliteConnection(Target.ConnectionString);
        await sqlite.OpenAsync();
        return await sqlite.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'") > 0;
    }

    public ValueTask DisposeAsync() => new(delete());
}
