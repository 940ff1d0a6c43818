using Dispatch.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Storage;

public sealed class StoreOperatorTests : StoreTestBase
{
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Cancel_RunningTask(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "build", priority: 0, modifies: ["src"]),
            Spec("web", "fix", priority: 1, modifies: ["src/a.py"]));
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null));

        Assert.Equal(OperatorOutcome.Done, await db.Store.CancelAsync(claimed.Lease.TaskPk));

        Assert.Equal(TaskStates.Cancelled, (await db.GetTaskAsync(claimed.Lease.Key)).State);
        Assert.Empty(await db.Store.ListLocksAsync());
        Assert.False(await db.Store.HeartbeatAsync(claimed.Lease, TestStore.LeaseTtl), "the cancelled worker's heartbeat was accepted");
        Assert.False(await db.Store.FinishAsync(claimed.Lease, new RunResult(true, 0, null, null)), "the cancelled worker's finish was accepted");
        Assert.Equal(TaskStates.Cancelled, (await db.GetTaskAsync(claimed.Lease.Key)).State);

        // The freed lock on "src" lets the task on "src/a.py" run.
        var fix = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("fix", fix.Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Retry_CancelledTask(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]));
        var first = await db.ClaimRequiredAsync();
        Assert.Equal(OperatorOutcome.Done, await db.Store.CancelAsync(first.Lease.TaskPk));

        Assert.Equal(OperatorOutcome.Done, await db.Store.RetryAsync(first.Lease.TaskPk));

        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync(first.Lease.Key)).State);
        var second = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal(first.Lease.TaskPk, second.Lease.TaskPk);
        Assert.Equal(2, second.Lease.Attempt);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Retry_CompletedTask(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build"));
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.CompleteAsync(claimed.Lease));

        Assert.Equal(OperatorOutcome.WrongState, await db.Store.RetryAsync(claimed.Lease.TaskPk));
        Assert.Equal(TaskStates.Completed, (await db.GetTaskAsync(claimed.Lease.Key)).State);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Operator_UnknownTask(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);

        Assert.Equal(OperatorOutcome.NotFound, await db.Store.CancelAsync(12345));
        Assert.Equal(OperatorOutcome.NotFound, await db.Store.RetryAsync(12345));
    }
}
