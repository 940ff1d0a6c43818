using Dapper;
using Dispatch.Scheduling;
using Dispatch.Specs;
using Dispatch.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit;

namespace Dispatch.Tests.Storage;

/// <summary>
/// A migrated store on a database created for one test and deleted at dispose:
/// a temporary SQLite file, or a new database on the PostgreSQL server that
/// <c>DISPATCH_TEST_PG_URL</c> names. Time comes from a <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class TestStore : IAsyncDisposable
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string PostgresUrlVariable = "DISPATCH_TEST_PG_URL";

    /// <summary>The fake clock's start: a whole second, so stored times compare exactly on both backends.</summary>
    public static readonly DateTimeOffset StartTime = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(60);

    public static readonly ImportDefaults Defaults = new("demo", MaxRetries: 3);

    private readonly List<SqlStore> stores = [];
    private readonly Func<Task> deleteDatabase;

    private TestStore(string backend, DatabaseTarget target, Func<Task> deleteDatabase)
    {
        Backend = backend;
        Target = target;
        this.deleteDatabase = deleteDatabase;
        Store = OpenStore();
    }

    public string Backend { get; }

    public DatabaseTarget Target { get; }

    public FakeTimeProvider Clock { get; } = new(StartTime);

    public SqlStore Store { get; }

    public static async Task<TestStore> CreateAsync(string backend, bool migrate = true)
    {
        var testStore = backend switch
        {
            Sqlite => CreateSqlite(),
            Postgres => await CreatePostgresAsync(),
            _ => throw new ArgumentException($"unknown backend \"{backend}\": use \"{Sqlite}\" or \"{Postgres}\"", nameof(backend)),
        };

        if (migrate)
        {
            try
            {
                await testStore.Store.MigrateAsync();
            }
            catch
            {
                await testStore.DisposeAsync();
                throw;
            }
        }

        return testStore;
    }

    private static TestStore CreateSqlite()
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-store-test-").FullName;
        var target = DatabaseTarget.Parse(Path.Combine(directory, "dispatch.db"), null);
        return new TestStore(Sqlite, target, () =>
        {
            // Pooled connections keep the file open, so close them before deleting it.
            SqliteConnection.ClearPool(new SqliteConnection(target.ConnectionString));
            Directory.Delete(directory, recursive: true);
            return Task.CompletedTask;
        });
    }

    private static async Task<TestStore> CreatePostgresAsync()
    {
        var serverUrl = Environment.GetEnvironmentVariable(PostgresUrlVariable);
        if (string.IsNullOrWhiteSpace(serverUrl))
        {
            throw new InvalidOperationException(
                $"{PostgresUrlVariable} is not set, so the PostgreSQL cases cannot run: run scripts/test.sh, which starts a " +
                $"throwaway PostgreSQL server and sets it, or set {PostgresUrlVariable} to the URI of a server where you may " +
                "create databases (scripts/test-postgres.sh start prints one).");
        }

        var server = DatabaseTarget.Parse(serverUrl, Postgres);
        var name = "dispatch_test_" + Guid.NewGuid().ToString("N");
        await ExecuteOnServerAsync(server, $"CREATE DATABASE \"{name}\"");

        var url = serverUrl.Contains("://", StringComparison.Ordinal)
            ? new UriBuilder(serverUrl) { Path = "/" + name }.Uri.AbsoluteUri
            : new NpgsqlConnectionStringBuilder(serverUrl) { Database = name }.ConnectionString;
        return new TestStore(Postgres, DatabaseTarget.Parse(url, Postgres),
            () => ExecuteOnServerAsync(server, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }

    private static async Task ExecuteOnServerAsync(DatabaseTarget server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync(sql);
    }

    /// <summary>Opens another store on the same database, as another process would. It is disposed with this one.</summary>
    public SqlStore OpenStore()
    {
        var store = SqlStore.Create(Target, Clock);
        stores.Add(store);
        return store;
    }

    public Task<ImportSummary> ImportAsync(params TaskSpec[] specs) => Store.ImportAsync(specs, Defaults);

    public async Task<TaskRow> GetTaskAsync(string project, string taskId) =>
        Assert.Single(await Store.FindTasksAsync($"{project}/{taskId}"));

    public Task<TaskRow> GetTaskAsync(TaskKey key) => GetTaskAsync(key.Project, key.TaskId);

    public Task<IReadOnlyList<EventRow>> GetEventsAsync(TaskKey? task = null) =>
        Store.GetEventsAsync(new EventQuery(task, Limit: 100_000));

    /// <summary>Builds a claim request from <paramref name="owner"/>. Null <paramref name="executors"/> means any executor.</summary>
    public static ClaimRequest Request(string owner, IReadOnlyList<string>? executors = null) =>
        new(owner, "node-" + owner, executors ?? [], AnyExecutor: executors is null, LeaseTtl);

    public Task<ClaimedTask?> ClaimAsync(string owner = "worker-1", IReadOnlyList<string>? executors = null) =>
        Store.ClaimAsync(Request(owner, executors));

    /// <summary>Claims and fails the test when nothing was claimable.</summary>
    public async Task<ClaimedTask> ClaimRequiredAsync(string owner = "worker-1")
    {
        var claimed = await ClaimAsync(owner);
        Assert.True(claimed is not null, $"{owner} found no claimable task");
        return claimed;
    }

    public Task<bool> CompleteAsync(Lease lease) => Store.FinishAsync(lease, new RunResult(true, 0, null, null));

    public async Task<int> ExecuteSqlAsync(string sql)
    {
        await using var connection = await Store.Dialect.OpenAsync(CancellationToken.None);
        return await connection.ExecuteAsync(sql);
    }

    public async Task<T?> QueryScalarAsync<T>(string sql)
    {
        await using var connection = await Store.Dialect.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<T>(sql);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await deleteDatabase();
    }
}
