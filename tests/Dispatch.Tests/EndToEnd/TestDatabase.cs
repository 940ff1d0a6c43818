using Npgsql;

namespace Dispatch.Tests.EndToEnd;

/// <summary>
/// A store location for one test: a SQLite file in a temporary folder, or a
/// fresh database on the PostgreSQL server named by DISPATCH_TEST_PG_URL
/// (scripts/test.sh starts one), dropped at dispose.
/// </summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? adminUrl;
    private readonly string? databaseName;

    private TestDatabase(string url, string? adminUrl, string? databaseName)
    {
        Url = url;
        this.adminUrl = adminUrl;
        this.databaseName = databaseName;
    }

    public string Url { get; }

    public static async Task<TestDatabase> CreateAsync(string backend, string directory)
    {
        if (backend == "sqlite")
        {
            return new TestDatabase(Path.Combine(directory, "dispatch.db"), null, null);
        }

        var admin = Environment.GetEnvironmentVariable("DISPATCH_TEST_PG_URL");
        if (string.IsNullOrEmpty(admin))
        {
            throw new InvalidOperationException(
                "DISPATCH_TEST_PG_URL is not set: run the tests through scripts/test.sh, which starts a throwaway PostgreSQL, " +
                "or point the variable at a server where the user may create databases.");
        }

        var name = "dispatch_t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(ToConnectionString(admin)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new UriBuilder(admin) { Path = "/" + name };
        return new TestDatabase(builder.Uri.ToString(), admin, name);
    }

    private static string ToConnectionString(string url) =>
        global::Dispatch.Storage.DatabaseTarget.Parse(url, "postgres").ConnectionString;

    public async ValueTask DisposeAsync()
    {
        if (adminUrl is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ToConnectionString(adminUrl));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {databaseName} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
