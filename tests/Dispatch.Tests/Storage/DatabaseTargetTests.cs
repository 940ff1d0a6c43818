using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dispatch.Storage;
using Xunit;

namespace Dispatch.Tests.Storage;

public sealed class DatabaseTargetTests : StoreTestBase
{
    /// <summary>The password in every URL below. No error message may contain it.</summary>
    private const string Password = "secret";

    /// <summary>(DISPATCH_DB_URL, DISPATCH_DB_BACKEND) pairs that Parse must reject when the backend is requested or inferred.</summary>
    private static IEnumerable<(string? Url, string? Backend)> BadSettings(string backend) => backend == TestStore.Sqlite
        ?
        [
            ($"postgresql://alice:{Password}@db.example:5432/dispatch", TestStore.Sqlite),
            ($"Host=db.example;Username=alice;Password={Password};Database=dispatch", TestStore.Sqlite),
            ($"mysql://alice:{Password}@db.example/dispatch", TestStore.Sqlite),
            ($"mysql://alice:{Password}@db.example/dispatch", null),
            ("sqlite:", TestStore.Sqlite),
            ("dispatch.db", "mysql"),
        ]
        :
        [
            ("/var/lib/dispatch/dispatch.db", TestStore.Postgres),
            (null, TestStore.Postgres),
            ($"postgresql://alice:{Password}@db.example:99999/dispatch", TestStore.Postgres),
            ($"postgresql://alice:{Password}@/dispatch", null),
            ($"postgres://alice:{Password}@db.example:5432/dispatch?sslmode=sometimes", null),
            ($"postgresql://db.example:5432/dispatch?user=alice&password={Password}&frobnicate=1", null),
            ($"Host=db.example;Username=alice;Password={Password};Frobnicate=1", null),
        ];

    [Theory]
    [MemberData(nameof(Backends))]
    public void Parse_BadUrlMasksPassword(string backend)
    {
        foreach (var (url, requested) in BadSettings(backend))
        {
            var error = Record.Exception(() => DatabaseTarget.Parse(url, requested));

            Assert.True(error is DatabaseConfigurationException,
                $"Parse(\"{url}\", \"{requested}\") threw {error?.GetType().Name ?? "nothing"} instead of DatabaseConfigurationException");
            Assert.DoesNotContain(Password, error!.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Parse_DisplayMasksPassword(string backend)
    {
        var url = backend == TestStore.Postgres
            ? $"postgresql://alice:{Password}@db.example:5432/dispatch"
            : Path.Combine(Path.GetTempPath(), "dispatch.db");

        var target = DatabaseTarget.Parse(url, backend);

        Assert.Equal(backend == TestStore.Postgres ? DatabaseBackend.Postgres : DatabaseBackend.Sqlite, target.Backend);
        Assert.DoesNotContain(Password, target.Display);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Migrate_UnreachableDatabase(string backend)
    {
        // A PostgreSQL port that is bound but not listening refuses connections.
        // A SQLite path below a regular file cannot be created.
        using var boundPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        boundPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)boundPort.LocalEndPoint!).Port;
        var file = Path.GetTempFileName();
        try
        {
            var url = backend == TestStore.Postgres
                ? $"postgresql://alice:{Password}@127.0.0.1:{port}/dispatch"
                : Path.Combine(file, "dispatch.db");
            await using var store = SqlStore.Create(DatabaseTarget.Parse(url, backend));
            var stopwatch = Stopwatch.StartNew();

            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.MigrateAsync());

            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"the failure took {stopwatch.Elapsed}");
            Assert.DoesNotContain(Password, error.Message);
            Assert.Contains(backend == TestStore.Postgres ? $"127.0.0.1:{port}" : file, error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
