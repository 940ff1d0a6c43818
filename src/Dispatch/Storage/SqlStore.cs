using System.Data.Common;
using System.Text.Json;
using Dapper;
using Dispatch.Scheduling;
using Dispatch.Storage.Postgres;
using Dispatch.Storage.Sqlite;

namespace Dispatch.Storage;

/// <summary>
/// The store on either backend: the statements are shared, and a
/// <see cref="SqlDialect"/> supplies what differs. Every transition is one
/// transaction that checks the state it expects, writes the event, and takes or
/// releases the file locks.
/// </summary>
public sealed partial class SqlStore : IDispatchStore
{
    /// <summary>The channel NOTIFY uses after a transition that may make a task claimable.</summary>
    public const string WakeChannel = "dispatch_wake";

    /// <summary>Keeps non-ASCII text (Chinese) and quotes readable in stored event details.</summary>
    private static readonly JsonSerializerOptions EventJsonOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly SqlDialect dialect;
    private readonly TimeProvider clock;

    static SqlStore()
    {
        TimeTypeHandler.Register();
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private SqlStore(DatabaseTarget target, SqlDialect dialect, TimeProvider clock)
    {
        Target = target;
        this.dialect = dialect;
        this.clock = clock;
    }

    public DatabaseTarget Target { get; }

    internal SqlDialect Dialect => dialect;

    /// <summary>Raised after this process commits a transition that may let another task run.</summary>
    public event Action? TaskReleased;

    public static SqlStore Create(DatabaseTarget target, TimeProvider? clock = null)
    {
        SqlDialect dialect = target.Backend switch
        {
            DatabaseBackend.Postgres => new PostgresDialect(target.ConnectionString, target.Display),
            _ => new SqliteDialect(target.ConnectionString),
        };
        return new SqlStore(target, dialect, clock ?? TimeProvider.System);
    }

    /// <summary>
    /// The value of <c>@now</c>. PostgreSQL with the system clock passes null so
    /// the database clock decides lease times for every machine; SQLite and tests
    /// with a fake clock pass the clock's time.
    /// </summary>
    private object? NowValue() =>
        dialect.Backend == DatabaseBackend.Postgres && ReferenceEquals(clock, TimeProvider.System)
            ? null
            : dialect.TimeValue(clock.GetUtcNow());

    private DynamicParameters Parameters(object? values = null)
    {
        var parameters = new DynamicParameters(values);
        parameters.Add("now", NowValue());
        return parameters;
    }

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> body, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken);
        await using var transaction = await dialect.BeginWriteAsync(connection, cancellationToken);
        var result = await body(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> body, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken);
        return await body(connection);
    }

    private Task AppendEventAsync(
        DbConnection connection, DbTransaction transaction, string type, string? project, string? taskId,
        string? node, int? attempt, object? details, CancellationToken cancellationToken)
    {
        var sql = $"""
            INSERT INTO events (at, project, task_id, type, node, attempt, details)
            VALUES ({dialect.Now}, @project, @taskId, @type, @node, @attempt, {dialect.Json("@details")})
            """;
        var parameters = Parameters(new
        {
            project,
            taskId,
            type,
            node,
            attempt,
            details = JsonSerializer.Serialize(details ?? new { }, EventJsonOptions),
        });
        return connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
    }

    public async Task AppendEventAsync(string type, string? project, string? taskId, object details, CancellationToken cancellationToken = default)
    {
        await WriteAsync(async (connection, transaction) =>
        {
            await AppendEventAsync(connection, transaction, type, project, taskId, null, null, details, cancellationToken);
            return 0;
        }, cancellationToken);
    }

    private void OnTaskReleased() => TaskReleased?.Invoke();

    /// <summary>Returns a service that turns NOTIFYs from other processes into wake-ups, or null on SQLite (one machine, in-process signals).</summary>
    public Microsoft.Extensions.Hosting.IHostedService? CreateWakeListener(WakeSignal wake, Microsoft.Extensions.Logging.ILogger logger) =>
        dialect is PostgresDialect postgres ? new PostgresWakeListener(postgres.DataSource, WakeChannel, wake, logger) : null;

    public async ValueTask DisposeAsync()
    {
        if (dialect is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}
