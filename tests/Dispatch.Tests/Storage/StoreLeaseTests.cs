using Dispatch.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Storage;

public sealed class StoreLeaseTests : StoreTestBase
{
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Fence_WrongAttempt(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]));
        var claimed = await db.ClaimRequiredAsync();

        await AssertFencedAsync(db, claimed.Lease with { Attempt = claimed.Lease.Attempt + 1 });
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null), "the current lease stopped working after the rejected writes");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Fence_WrongOwner(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]));
        var claimed = await db.ClaimRequiredAsync();

        await AssertFencedAsync(db, claimed.Lease with { Owner = "worker-intruder" });
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null), "the current lease stopped working after the rejected writes");
    }

    /// <summary>Asserts that every worker write with <paramref name="stale"/> returns false and leaves the task, its events and its locks unchanged.</summary>
    private static async Task AssertFencedAsync(TestStore db, Lease stale)
    {
        var taskBefore = await db.GetTaskAsync(stale.Key);
        var eventCountBefore = (await db.GetEventsAsync()).Count;
        var locksBefore = await db.Store.ListLocksAsync();

        // A write that got through would stamp the later time, so the row comparison below would catch it.
        db.Clock.Advance(TimeSpan.FromSeconds(5));

        Assert.False(await db.Store.HeartbeatAsync(stale, TimeSpan.FromMinutes(10)), "HeartbeatAsync accepted a stale lease");
        Assert.False(await db.Store.MarkRunningAsync(stale, "/tmp/stale.log"), "MarkRunningAsync accepted a stale lease");
        Assert.False(await db.Store.FinishAsync(stale, new RunResult(true, 0, null, null)), "FinishAsync accepted a stale lease");
        Assert.False(await db.Store.ReleaseAsync(stale, "stale worker stopping"), "ReleaseAsync accepted a stale lease");

        Assert.Equal(taskBefore, await db.GetTaskAsync(stale.Key));
        Assert.Equal(eventCountBefore, (await db.GetEventsAsync()).Count);
        Assert.Equal(locksBefore, await db.Store.ListLocksAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Heartbeat_ExtendsLease(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build"));
        var claimed = await db.ClaimRequiredAsync();
        Assert.Equal(TestStore.StartTime + TestStore.LeaseTtl, (await db.GetTaskAsync(claimed.Lease.Key)).LeaseExpiresAt);

        db.Clock.Advance(TimeSpan.FromSeconds(40));
        Assert.True(await db.Store.HeartbeatAsync(claimed.Lease, TestStore.LeaseTtl));

        var task = await db.GetTaskAsync(claimed.Lease.Key);
        Assert.Equal(TestStore.StartTime + TimeSpan.FromSeconds(100), task.LeaseExpiresAt);
        Assert.Equal(claimed.Lease.Owner, task.LeaseOwner);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Release_ReturnsTaskToPending(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src/app", "docs"]));
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null));

        Assert.True(await db.Store.ReleaseAsync(claimed.Lease, "worker stopping"));

        var task = await db.GetTaskAsync(claimed.Lease.Key);
        Assert.Equal(TaskStates.Pending, task.State);
        Assert.Equal(0, task.Attempt);
        Assert.Null(task.LeaseOwner);
        Assert.Null(task.LeaseExpiresAt);
        Assert.Empty(await db.Store.ListLocksAsync());
        Assert.Empty(await db.Store.GetAttemptsAsync(task.Id));
        Assert.Equal("released", (await db.GetEventsAsync(claimed.Lease.Key))[^1].Type);

        var again = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal(1, again.Lease.Attempt);
    }
}
