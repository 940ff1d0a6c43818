using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Dispatch.Storage.Sqlite;

/// <summary>
/// SQLite: one file, WAL mode, a busy timeout, and write transactions that take
/// the write lock at their start, so a claim is serialised by the database itself.
/// Times are Unix milliseconds.
/// </summary>
public sealed class SqliteDialect(string connectionString) : SqlDialect
{
    private const int BusyTimeoutMilliseconds = 30_000;

    public override DatabaseBackend Backend => DatabaseBackend.Sqlite;

    public override string MigrationFolder => "Sqlite";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync();
            throw new StoreUnavailableException(
                $"cannot open SQLite database {new SqliteConnectionStringBuilder(connectionString).DataSource}: {ex.Message}", ex);
        }

        // WAL lets readers (status, events) run while a worker writes.
        await connection.ExecuteAsync(
            $"PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        return connection;
    }

    public override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite starts a non-deferred transaction with BEGIN IMMEDIATE.
        return await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken);
    }

    public override string Now => "@now";

    public override string NowPlusSeconds(string secondsParameter) => $"CAST(@now + {secondsParameter} * 1000 AS INTEGER)";

    public override string Json(string parameter) => parameter;

    public override string InList(string column, string parameter) => $"{column} IN {parameter}";

    public override string ClaimLockClause => "";

    /// <summary>Returns true at once, because the IMMEDIATE write transaction already serialises every claim.</summary>
    public override Task<bool> LockProjectForClaimAsync(DbConnection connection, DbTransaction transaction, string project, bool wait, CancellationToken cancellationToken) =>
        Task.FromResult(true);

    public override async Task<T> WithMigrationLockAsync<T>(DbConnection connection, Func<DbTransaction, Task<T>> body, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var result = await body(transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public override object? TimeValue(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();
}
