using System.Data.Common;
using Dapper;
using Npgsql;

namespace Dispatch.Storage.Postgres;

/// <summary>
/// PostgreSQL: pooled connections, <c>FOR UPDATE SKIP LOCKED</c> claims with a
/// per-project advisory lock for the file-lock check, an advisory lock around
/// migrations, and NOTIFY after transitions.
/// </summary>
public sealed class PostgresDialect : SqlDialect, IAsyncDisposable
{
    /// <summary>Advisory lock key held while migrations run ("dispatch" in ASCII).</summary>
    private const long MigrationLockKey = 0x6469737061746368;

    private readonly NpgsqlDataSource dataSource;
    private readonly string display;

    public PostgresDialect(string connectionString, string display)
    {
        dataSource = NpgsqlDataSource.Create(connectionString);
        this.display = display;
    }

    public NpgsqlDataSource DataSource => dataSource;

    public override DatabaseBackend Backend => DatabaseBackend.Postgres;

    public override string MigrationFolder => "Postgres";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new StoreUnavailableException($"cannot connect to PostgreSQL at {display}: {DescribeConnectFailure(ex)}", ex);
        }
    }

    private static string DescribeConnectFailure(Exception ex)
    {
        var message = ex is PostgresException pg ? pg.MessageText : ex.InnerException?.Message ?? ex.Message;
        return DatabaseTarget.MaskForDisplay(message);
    }

    public override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    public override string Now => "COALESCE(@now, now())";

    public override string NowPlusSeconds(string secondsParameter) =>
        $"(COALESCE(@now, now()) + make_interval(secs => {secondsParameter}))";

    public override string Json(string parameter) => $"CAST({parameter} AS jsonb)";

    public override string InList(string column, string parameter) => $"{column} = ANY({parameter})";

    public override string ClaimLockClause => "FOR UPDATE OF t SKIP LOCKED";

    public override async Task<bool> LockProjectForClaimAsync(DbConnection connection, DbTransaction transaction, string project, bool wait, CancellationToken cancellationToken)
    {
        if (!wait)
        {
            return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_xact_lock(hashtext('dispatch-claim:' || @project))",
                new { project }, transaction, cancellationToken: cancellationToken));
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtext('dispatch-claim:' || @project))",
            new { project }, transaction, cancellationToken: cancellationToken));
        return true;
    }

    public override Task LockImportAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtext('dispatch-import'))", transaction: transaction, cancellationToken: cancellationToken));

    public override async Task<T> WithMigrationLockAsync<T>(DbConnection connection, Func<DbTransaction, Task<T>> body, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));
        var result = await body(transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public override object? TimeValue(DateTimeOffset? value) => value?.ToUniversalTime();

    public override Task NotifyAsync(DbConnection connection, DbTransaction transaction, string channel, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, '')", new { channel }, transaction, cancellationToken: cancellationToken));

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
