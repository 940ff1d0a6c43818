using Dispatch.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Storage;

public sealed class StoreClaimTests : StoreTestBase
{
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_LowestPriorityFirst(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);

        // Ids of equal priority are out of alphabetical order, so only insertion order explains the result.
        await db.ImportAsync(
            Spec("web", "low", priority: 3),
            Spec("web", "zeta", priority: 1),
            Spec("web", "alpha", priority: 1),
            Spec("web", "critical", priority: 0),
            Spec("web", "mid", priority: 1));
        await db.ImportAsync(Spec("web", "beta", priority: 1));

        var order = new List<string>();
        while (order.Count < 10 && await db.ClaimAsync() is { } claimed)
        {
            order.Add(claimed.Lease.Key.TaskId);
        }

        Assert.Equal(["critical", "zeta", "alpha", "mid", "beta", "low"], order);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_WaitsForDependency(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "build", priority: 3),
            Spec("web", "deploy", priority: 0, dependsOn: ["build"]));

        var build = await db.ClaimRequiredAsync("worker-1");
        Assert.Equal("build", build.Lease.Key.TaskId);
        Assert.Null(await db.ClaimAsync("worker-2"));

        Assert.True(await db.Store.MarkRunningAsync(build.Lease, null));
        Assert.Null(await db.ClaimAsync("worker-2"));

        Assert.True(await db.CompleteAsync(build.Lease));
        var deploy = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("deploy", deploy.Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_WaitsForNotBefore(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "flaky"));
        var first = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.FinishAsync(first.Lease, new RunResult(false, 1, "exit code 1", null)));
        var failed = Assert.Single(await db.Store.ListFailedTasksAsync(10));
        var notBefore = TestStore.StartTime + TimeSpan.FromSeconds(30);

        Assert.True(await db.Store.ScheduleRetryAsync(failed, notBefore));

        Assert.Equal(notBefore, (await db.GetTaskAsync(first.Lease.Key)).NotBefore);
        db.Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(await db.ClaimAsync());
        db.Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await db.ClaimRequiredAsync();
        Assert.Equal(2, second.Lease.Attempt);
        Assert.Null((await db.GetTaskAsync(first.Lease.Key)).NotBefore);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_ExclusiveWaitsForIdleProject(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "lint", priority: 0),
            Spec("web", "upgrade", priority: 1, exclusive: true),
            Spec("api", "test", priority: 2));

        var lint = await db.ClaimRequiredAsync("worker-1");
        Assert.Equal("lint", lint.Lease.Key.TaskId);

        // The exclusive task is next by priority but must wait, so the other project's task goes first.
        var test = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("api/test", test.Lease.Key.ToString());
        Assert.Null(await db.ClaimAsync("worker-3"));

        Assert.True(await db.CompleteAsync(lint.Lease));
        var upgrade = await db.ClaimRequiredAsync("worker-3");
        Assert.Equal("upgrade", upgrade.Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_ExclusiveBlocksItsProject(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "upgrade", priority: 0, exclusive: true),
            Spec("web", "lint", priority: 1),
            Spec("api", "test", priority: 2));

        var upgrade = await db.ClaimRequiredAsync("worker-1");
        Assert.Equal("upgrade", upgrade.Lease.Key.TaskId);
        Assert.True(await db.Store.MarkRunningAsync(upgrade.Lease, null));

        var test = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("api/test", test.Lease.Key.ToString());
        Assert.Null(await db.ClaimAsync("worker-3"));

        Assert.True(await db.CompleteAsync(upgrade.Lease));
        var lint = await db.ClaimRequiredAsync("worker-3");
        Assert.Equal("lint", lint.Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_FiltersByExecutor(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "review", executor: "y"));

        Assert.Null(await db.ClaimAsync("worker-x", executors: ["x"]));
        Assert.Null(await db.ClaimAsync("worker-none", executors: []));

        var claimed = await db.ClaimRequiredAsync("worker-any");
        Assert.Equal("review", claimed.Lease.Key.TaskId);
        Assert.Equal("y", claimed.Executor);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_OfferedExecutorInList(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "review", executor: "y"));

        var claimed = await db.ClaimAsync("worker-xy", executors: ["x", "y"]);

        Assert.Equal("review", claimed?.Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_PathConflictWaits(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "refactor", priority: 0, modifies: ["src"]),
            Spec("web", "fix", priority: 1, modifies: ["src/a.py"]),
            Spec("web", "backup", priority: 2, modifies: ["src_old/a.py"]),
            Spec("api", "fix", priority: 3, modifies: ["src/a.py"]));

        var refactor = await db.ClaimRequiredAsync("worker-1");
        Assert.Equal("web/refactor", refactor.Lease.Key.ToString());

        // "src_old" is not under "src", and locks are per project, so these two do not wait.
        var backup = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("web/backup", backup.Lease.Key.ToString());
        var apiFix = await db.ClaimRequiredAsync("worker-3");
        Assert.Equal("api/fix", apiFix.Lease.Key.ToString());
        Assert.Null(await db.ClaimAsync("worker-4"));

        Assert.True(await db.CompleteAsync(refactor.Lease));
        var webFix = await db.ClaimRequiredAsync("worker-4");
        Assert.Equal("web/fix", webFix.Lease.Key.ToString());
    }
}
