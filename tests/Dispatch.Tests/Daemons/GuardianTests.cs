using Dispatch.Daemons;
using Dispatch.Storage;
using Dispatch.Tests.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Daemons;

/// <summary>One guardian pass at a time against a real store, with time moved by the fake clock.</summary>
public sealed class GuardianTests : StoreTestBase, IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("dispatch-guardian-test-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_MarksStaleNodeOffline(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await TestDaemons.RegisterNodeAsync(db, "node-silent");
        await TestDaemons.RegisterNodeAsync(db, "node-alive");
        var guardian = TestDaemons.Guardian(db, dataDirectory);
        var staleAfter = TimeSpan.FromSeconds(new GuardianOptions().NodeStaleSeconds);

        db.Clock.Advance(staleAfter - TimeSpan.FromSeconds(30));
        await db.Store.HeartbeatNodeAsync("node-alive", "worker-on-node-alive", 0);
        db.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_offline"]);

        db.Clock.Advance(TimeSpan.FromSeconds(1));
        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["nodes_offline"]);
        Assert.Equal("offline", (await TestDaemons.GetNodeAsync(db, "node-silent")).State);
        Assert.Equal("online", (await TestDaemons.GetNodeAsync(db, "node-alive")).State);
        var offline = Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "node_offline"));
        Assert.Equal("node-silent", offline.Node);
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_offline"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_FailsOverdueRun(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "wedged", modifies: ["src"]) with { TimeoutMinutes = 10 },
            Spec("web", "claimed-only", modifies: ["docs"]) with { TimeoutMinutes = 10 });
        var wedged = await db.ClaimRequiredAsync("worker-1");
        var claimedOnly = await db.ClaimRequiredAsync("worker-2");
        Assert.True(await db.Store.MarkRunningAsync(wedged.Lease, null));
        var guardian = TestDaemons.Guardian(db, dataDirectory);
        var grace = TimeSpan.FromSeconds(new GuardianOptions().TimeoutGraceSeconds);

        // Both workers keep heartbeating, so only the run time decides.
        db.Clock.Advance(TimeSpan.FromMinutes(10) + grace);
        Assert.True(await db.Store.HeartbeatAsync(wedged.Lease, TestStore.LeaseTtl));
        Assert.True(await db.Store.HeartbeatAsync(claimedOnly.Lease, TestStore.LeaseTtl));
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["runs_overdue"]);

        db.Clock.Advance(TimeSpan.FromSeconds(1));
        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["runs_overdue"]);
        var task = await db.GetTaskAsync(wedged.Lease.Key);
        Assert.Equal(TaskStates.Failed, task.State);
        Assert.Contains("exceeded its timeout of 10 min", task.LastError);
        Assert.Contains(wedged.Lease.Node, task.LastError);
        Assert.Null(task.LeaseOwner);
        Assert.Equal(TaskStates.Failed, Assert.Single(await db.Store.GetAttemptsAsync(task.Id)).Outcome);
        Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "run_overdue"));
        Assert.Equal(TaskStates.Claimed, (await db.GetTaskAsync(claimedOnly.Lease.Key)).State);
        Assert.Equal(("web", "docs", claimedOnly.Lease.TaskPk), Assert.Single(await db.Store.ListLocksAsync()));
        Assert.False(await db.Store.HeartbeatAsync(wedged.Lease, TestStore.LeaseTtl), "the wedged worker kept a lease the guardian had ended");
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["runs_overdue"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_BlocksDependentsOfDeadLetter(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "schema", priority: 0) with { MaxRetries = 0 },
            Spec("web", "api", dependsOn: ["schema"]),
            Spec("web", "client", dependsOn: ["api"]),
            Spec("web", "docs", priority: 3));
        var schema = await db.ClaimRequiredAsync();
        Assert.Equal("schema", schema.Lease.Key.TaskId);
        Assert.True(await TestDaemons.FailAsync(db, schema.Lease));
        Assert.Equal(1, (await TestDaemons.Reaper(db, dataDirectory).RunOnceAsync(CancellationToken.None))["deadlettered"]);
        var guardian = TestDaemons.Guardian(db, dataDirectory);

        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, result["blocked"]);
        var api = await db.GetTaskAsync("web", "api");
        Assert.Equal(TaskStates.Blocked, api.State);
        Assert.Equal("dependency web/schema is deadletter", api.BlockedReason);
        var client = await db.GetTaskAsync("web", "client");
        Assert.Equal(TaskStates.Blocked, client.State);
        Assert.Equal("dependency web/api is blocked", client.BlockedReason);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "docs")).State);

        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["blocked"]);
        var blockedEvents = await TestDaemons.GetEventsOfTypeAsync(db, "blocked");
        Assert.Equal(["api", "client"], blockedEvents.Select(e => e.TaskId).Order(StringComparer.Ordinal));

        // The operator's retry brings the dependency back, but its dependents wait for the next pass.
        Assert.Equal(OperatorOutcome.Done, await db.Store.RetryAsync(schema.Lease.TaskPk));
        Assert.Equal(TaskStates.Blocked, (await db.GetTaskAsync("web", "api")).State);
        var recovered = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, recovered["unblocked"]);
        Assert.Equal(0, recovered["blocked"]);
        foreach (var taskId in new[] { "api", "client" })
        {
            var task = await db.GetTaskAsync("web", taskId);
            Assert.Equal(TaskStates.Pending, task.State);
            Assert.Null(task.BlockedReason);
        }

        Assert.Equal(2, (await TestDaemons.GetEventsOfTypeAsync(db, "unblocked")).Count);
        var again = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal("schema", again.Lease.Key.TaskId);
        Assert.True(await db.CompleteAsync(again.Lease));
        Assert.Equal("api", (await db.ClaimRequiredAsync("worker-3")).Lease.Key.TaskId);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_BlocksDependentOfCancelled(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "schema"), Spec("web", "api", dependsOn: ["schema"]));
        var schema = await db.GetTaskAsync("web", "schema");
        Assert.Equal(OperatorOutcome.Done, await db.Store.CancelAsync(schema.Id));
        var guardian = TestDaemons.Guardian(db, dataDirectory);

        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["blocked"]);
        var api = await db.GetTaskAsync("web", "api");
        Assert.Equal(TaskStates.Blocked, api.State);
        Assert.Equal("dependency web/schema is cancelled", api.BlockedReason);
        var blocked = Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "blocked"));
        Assert.Contains("web/schema", blocked.Details);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_WarnsUnservedExecutorOnce(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "a", executor: "glm"),
            Spec("web", "b", executor: "glm"),
            Spec("web", "c", executor: "claude"),
            Spec("web", "d"));
        await TestDaemons.RegisterNodeAsync(db, "node-demo", TestStore.Defaults.Executor);
        var guardian = TestDaemons.Guardian(db, dataDirectory);

        var first = await guardian.RunOnceAsync(CancellationToken.None);
        var second = await guardian.RunOnceAsync(CancellationToken.None);
        var third = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, first["executors_unserved"]);
        Assert.Equal(0, second["executors_unserved"]);
        Assert.Equal(0, third["executors_unserved"]);
        var warnings = await TestDaemons.GetEventsOfTypeAsync(db, "executor_unserved");
        Assert.Equal(2, warnings.Count);
        Assert.Single(warnings, e => e.Details.Contains("\"glm\""));
        Assert.Single(warnings, e => e.Details.Contains("\"claude\""));

        // Once a node offers it the warning is cleared, so losing that node warns again.
        await TestDaemons.RegisterNodeAsync(db, "node-glm", "glm");
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["executors_unserved"]);
        await db.Store.MarkNodeOfflineAsync("node-glm", "worker-on-node-glm");
        Assert.Equal(1, (await guardian.RunOnceAsync(CancellationToken.None))["executors_unserved"]);
        Assert.Equal(3, (await TestDaemons.GetEventsOfTypeAsync(db, "executor_unserved")).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_QuarantinesFailingNode(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync([.. Enumerable.Range(1, 8).Select(i => Spec("web", $"task-{i}"))]);
        await TestDaemons.RegisterNodeAsync(db, "node-worker-1");
        var guardian = TestDaemons.Guardian(db, dataDirectory, options: new GuardianOptions { QuarantineAfterFailures = 3, MinFreeDiskBytes = 0 });

        // A success in between breaks the run of failures.
        await FailOnNodeAsync(db, "worker-1", 2);
        db.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await db.CompleteAsync((await db.ClaimRequiredAsync("worker-1")).Lease));
        await FailOnNodeAsync(db, "worker-1", 2);
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_quarantined"]);

        await FailOnNodeAsync(db, "worker-1", 1);
        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["nodes_quarantined"]);
        Assert.Equal("quarantined", (await TestDaemons.GetNodeAsync(db, "node-worker-1")).State);
        var quarantined = Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "node_quarantined"));
        Assert.Equal("node-worker-1", quarantined.Node);
        Assert.Null(await db.ClaimAsync("worker-1"));
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_quarantined"]);

        // An operator's release counts only failures after it.
        db.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["node-worker-1"], await db.Store.ReleaseQuarantineAsync("node-worker-1", TimeSpan.FromMinutes(30)));
        Assert.Equal("online", (await TestDaemons.GetNodeAsync(db, "node-worker-1")).State);
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_quarantined"]);
        Assert.Equal("online", (await TestDaemons.GetNodeAsync(db, "node-worker-1")).State);
        var claimed = await db.ClaimAsync("worker-1");
        Assert.NotNull(claimed);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_ReleasesQuarantineAfterCoolDown(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync([.. Enumerable.Range(1, 4).Select(i => Spec("web", $"task-{i}"))]);
        await TestDaemons.RegisterNodeAsync(db, "node-worker-1");
        var options = new GuardianOptions { QuarantineAfterFailures = 2, QuarantineCoolDownMinutes = 30, MinFreeDiskBytes = 0 };
        var guardian = TestDaemons.Guardian(db, dataDirectory, options: options);
        await FailOnNodeAsync(db, "worker-1", 2);
        Assert.Equal(1, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_quarantined"]);

        // The cool-down runs from the quarantine time, and the heartbeat keeps the node from going offline meanwhile.
        db.Clock.Advance(TimeSpan.FromMinutes(30));
        await db.Store.HeartbeatNodeAsync("node-worker-1", "worker-on-node-worker-1", 0);
        Assert.Equal(0, (await guardian.RunOnceAsync(CancellationToken.None))["nodes_released"]);
        Assert.Equal("quarantined", (await TestDaemons.GetNodeAsync(db, "node-worker-1")).State);

        db.Clock.Advance(TimeSpan.FromSeconds(1));
        var result = await guardian.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["nodes_released"]);
        Assert.Equal("online", (await TestDaemons.GetNodeAsync(db, "node-worker-1")).State);
        var released = Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "node_released"));
        Assert.Contains("cool-down", released.Details);
        Assert.NotNull(await db.ClaimAsync("worker-1"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_RejectsOldSchema(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend, migrate: false);
        var guardian = TestDaemons.Guardian(db, dataDirectory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => guardian.RunOnceAsync(CancellationToken.None));

        Assert.Contains("dispatch migrate", error.Message);
    }

    /// <summary>
    /// Claims <paramref name="count"/> tasks as <paramref name="owner"/> and fails each, one second
    /// apart, because the quarantine check orders attempts by finish time and equal times have no order.
    /// </summary>
    private static async Task FailOnNodeAsync(TestStore db, string owner, int count)
    {
        for (var i = 0; i < count; i++)
        {
            db.Clock.Advance(TimeSpan.FromSeconds(1));
            var claimed = await db.ClaimRequiredAsync(owner);
            Assert.True(await TestDaemons.FailAsync(db, claimed.Lease));
        }
    }
}
