using Dispatch.Storage;
using Xunit;

namespace Dispatch.Tests.Storage;

public sealed class StoreMigrationTests : StoreTestBase
{
    private const int StoreCount = 6;

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Migrate_ConcurrentStoresApplyOnce(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend, migrate: false);
        var stores = Enumerable.Range(0, StoreCount).Select(_ => db.OpenStore()).ToList();
        var migrations = db.Store.Migrations;
        Assert.NotEmpty(migrations);

        // Every store waits at the gate, so the migrations start together as at a fleet's start-up.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = stores.Select(store => Task.Run(async () =>
        {
            await gate.Task;
            return await store.MigrateAsync();
        })).ToList();
        gate.SetResult();
        var applied = await Task.WhenAll(runs);

        Assert.Equal(1, applied.Count(count => count == migrations.Count));
        Assert.Equal(StoreCount - 1, applied.Count(count => count == 0));
        Assert.Equal(migrations[^1].Version, await db.Store.GetSchemaVersionAsync());
        Assert.Equal(migrations.Count, await db.QueryScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Migrate_SchemaTooNew(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        var newer = db.Store.Migrations[^1].Version + 1;
        await db.ExecuteSqlAsync(
            $"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({newer}, 'from_a_newer_build', '2031-01-01T00:00:00Z')");

        var error = await Assert.ThrowsAsync<SchemaTooNewException>(() => db.OpenStore().MigrateAsync());

        Assert.Contains($"schema version {newer}", error.Message);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Migrate_SecondRunAppliesNothing(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);

        Assert.Equal(0, await db.OpenStore().MigrateAsync());
        Assert.Equal(db.Store.Migrations[^1].Version, await db.Store.GetSchemaVersionAsync());
    }
}
