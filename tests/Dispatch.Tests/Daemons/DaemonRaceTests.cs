using Dispatch.Daemons;
using Dispatch.Storage;
using Dispatch.Tests.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Daemons;

/// <summary>
/// Races between daemon replicas, between the reaper and the guardian, and
/// between a daemon and a worker. Each replica has its own store and
/// connections, and every transition must happen exactly once.
/// </summary>
public sealed class DaemonRaceTests : StoreTestBase, IDisposable
{
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(10);

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("dispatch-race-test-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_ReplicasDecideEachTaskOnce(string backend)
    {
        const int taskCount = 40;
        const int rounds = 3;
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync([.. Enumerable.Range(0, taskCount).Select(i => Spec("web", $"task-{i:D2}") with { MaxRetries = rounds - 1 })]);
        var reapers = new[] { db.Store, db.OpenStore() }.Select(store => TestDaemons.Reaper(db, dataDirectory, store)).ToList();

        // Each round fails half the tasks through their worker and lets the other half's leases expire.
        // The last round spends the retry budget, so the replicas race on dead-lettering too.
        for (var round = 1; round <= rounds; round++)
        {
            var leases = await ClaimAllAsync(db, taskCount);
            for (var i = 0; i < leases.Count; i += 2)
            {
                Assert.True(await TestDaemons.FailAsync(db, leases[i]));
            }

            db.Clock.Advance(ShortLease + TimeSpan.FromSeconds(1));
            var results = await RunTogetherAsync(reapers);

            Assert.Equal(taskCount / 2, results.Sum(r => r["lease_expired"]));
            Assert.Equal(round < rounds ? taskCount : 0, results.Sum(r => r["retry_scheduled"]));
            Assert.Equal(round < rounds ? 0 : taskCount, results.Sum(r => r["deadlettered"]));

            // Move past the longest backoff of this round, 30 s × 2^(round − 1) plus 20 %.
            db.Clock.Advance(TimeSpan.FromMinutes(5));
        }

        AssertOncePerAttempt(await TestDaemons.GetEventsOfTypeAsync(db, "lease_expired"), rounds * taskCount / 2);
        AssertOncePerAttempt(await TestDaemons.GetEventsOfTypeAsync(db, "retry_scheduled"), (rounds - 1) * taskCount);
        AssertOncePerAttempt(await TestDaemons.GetEventsOfTypeAsync(db, "deadlettered"), taskCount);

        var tasks = await db.Store.ListTasksAsync("web");
        Assert.Empty(tasks.Where(t => t.State != TaskStates.DeadLetter || t.Attempt != rounds).Select(t => $"{t.Key} is {t.State} at attempt {t.Attempt}"));
        foreach (var task in tasks)
        {
            var attempts = await db.Store.GetAttemptsAsync(task.Id);
            Assert.Equal(rounds, attempts.Count);
            Assert.All(attempts, a => Assert.Equal(TaskStates.Failed, a.Outcome));
        }

        Assert.Empty(await db.Store.ListLocksAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_ReplicasBlockEachDependentOnce(string backend)
    {
        const int directCount = 30;
        const int transitiveCount = 10;
        const int dependentCount = directCount + transitiveCount;
        const int rounds = 3;
        await using var db = await TestStore.CreateAsync(backend);
        var direct = Enumerable.Range(0, directCount).Select(i => Spec("web", $"direct-{i:D2}", dependsOn: ["root"]));
        var transitive = Enumerable.Range(0, transitiveCount).Select(i => Spec("web", $"transitive-{i:D2}", dependsOn: [$"direct-{i:D2}"]));
        await db.ImportAsync([Spec("web", "root") with { MaxRetries = 0 }, .. direct, .. transitive]);
        var reaper = TestDaemons.Reaper(db, dataDirectory);
        var guardians = new[] { db.Store, db.OpenStore(), db.OpenStore() }.Select(store => TestDaemons.Guardian(db, dataDirectory, store)).ToList();

        // Each round dead-letters the root, lets the replicas block its dependents, then retries the root and lets them unblock.
        for (var round = 1; round <= rounds; round++)
        {
            var root = await db.ClaimRequiredAsync($"worker-{round}");
            Assert.Equal("root", root.Lease.Key.TaskId);
            Assert.True(await TestDaemons.FailAsync(db, root.Lease));
            Assert.Equal(1, (await reaper.RunOnceAsync(CancellationToken.None))["deadlettered"]);

            var blocking = await RunTogetherAsync(guardians);

            Assert.Equal(dependentCount, blocking.Sum(r => r["blocked"]));
            Assert.Equal(0, blocking.Sum(r => r["unblocked"]));
            var dependents = (await db.Store.ListTasksAsync("web")).Where(t => t.TaskId != "root").ToList();
            Assert.Empty(dependents.Where(t => t.State != TaskStates.Blocked).Select(t => $"round {round}: {t.Key} is {t.State}"));

            Assert.Equal(OperatorOutcome.Done, await db.Store.RetryAsync(root.Lease.TaskPk));
            var unblocking = await RunTogetherAsync(guardians);

            Assert.Equal(dependentCount, unblocking.Sum(r => r["unblocked"]));
            Assert.Equal(0, unblocking.Sum(r => r["blocked"]));
            dependents = (await db.Store.ListTasksAsync("web")).Where(t => t.TaskId != "root").ToList();
            Assert.Empty(dependents.Where(t => t.State != TaskStates.Pending).Select(t => $"round {round}: {t.Key} is {t.State}"));
        }

        AssertPerTask(await TestDaemons.GetEventsOfTypeAsync(db, "blocked"), dependentCount, rounds);
        AssertPerTask(await TestDaemons.GetEventsOfTypeAsync(db, "unblocked"), dependentCount, rounds);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ReaperAndGuardian_FailRunOnce(string backend)
    {
        const int taskCount = 20;
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync([.. Enumerable.Range(0, taskCount).Select(i => Spec("web", $"task-{i:D2}") with { TimeoutMinutes = 10 })]);
        var leases = await ClaimAllAsync(db, taskCount);
        foreach (var lease in leases)
        {
            Assert.True(await db.Store.MarkRunningAsync(lease, null));
        }

        // Every run is both past its lease and past its timeout plus grace, so both daemons want to fail it.
        db.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(new GuardianOptions().TimeoutGraceSeconds + 1));
        var daemons = new DaemonLoop[] { TestDaemons.Reaper(db, dataDirectory), TestDaemons.Guardian(db, dataDirectory, db.OpenStore()) };

        var results = await RunTogetherAsync(daemons);

        Assert.Equal(taskCount, results.Sum(r => r["lease_expired"] + r["runs_overdue"]));
        var failures = (await db.GetEventsAsync()).Where(e => e.Type is "lease_expired" or "run_overdue").ToList();
        AssertOncePerAttempt(failures, taskCount);
        foreach (var lease in leases)
        {
            var attempt = Assert.Single(await db.Store.GetAttemptsAsync(lease.TaskPk));
            Assert.Equal(TaskStates.Failed, attempt.Outcome);
            Assert.NotNull(attempt.FinishedAt);
        }

        // Tasks the guardian failed after the reaper had listed failures wait for the next reaper pass.
        await TestDaemons.Reaper(db, dataDirectory).RunOnceAsync(CancellationToken.None);
        AssertOncePerAttempt(await TestDaemons.GetEventsOfTypeAsync(db, "retry_scheduled"), taskCount);
        Assert.Empty(await db.Store.ListLocksAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_StaleDecisionIsFenced(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "flaky"));
        var first = await db.ClaimRequiredAsync("worker-1");
        Assert.True(await TestDaemons.FailAsync(db, first.Lease));

        // A slow replica read the failure of attempt 1, then another replica retried it and attempt 2 failed too.
        var stale = Assert.Single(await db.Store.ListFailedTasksAsync(10));
        Assert.Equal(1, (await TestDaemons.Reaper(db, dataDirectory).RunOnceAsync(CancellationToken.None))["retry_scheduled"]);
        db.Clock.Advance(TimeSpan.FromMinutes(5));
        var second = await db.ClaimRequiredAsync("worker-2");
        Assert.True(await TestDaemons.FailAsync(db, second.Lease));

        Assert.False(await db.Store.ScheduleRetryAsync(stale, db.Clock.GetUtcNow() + TimeSpan.FromHours(1)), "a retry decided for attempt 1 moved attempt 2");
        Assert.False(await db.Store.DeadLetterAsync(stale), "a dead-letter decided for attempt 1 moved attempt 2");
        var task = await db.GetTaskAsync(second.Lease.Key);
        Assert.Equal(TaskStates.Failed, task.State);
        Assert.Equal(2, task.Attempt);
        Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "retry_scheduled"));
        Assert.Empty(await TestDaemons.GetEventsOfTypeAsync(db, "deadlettered"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Guardian_CompletedRunStaysCompleted(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "slow", modifies: ["src"]) with { TimeoutMinutes = 10 });
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null));

        // The run is far past its timeout plus grace, but the worker's finish commits before the guardian looks.
        db.Clock.Advance(TimeSpan.FromHours(1));
        Assert.True(await db.CompleteAsync(claimed.Lease));
        var result = await TestDaemons.Guardian(db, dataDirectory).RunOnceAsync(CancellationToken.None);

        Assert.Equal(0, result["runs_overdue"]);
        var task = await db.GetTaskAsync(claimed.Lease.Key);
        Assert.Equal(TaskStates.Completed, task.State);
        Assert.Null(task.LastError);
        Assert.Empty(await TestDaemons.GetEventsOfTypeAsync(db, "run_overdue"));
    }

    /// <summary>Claims <paramref name="count"/> tasks with a short lease, one owner each, and checks that nothing else is claimable.</summary>
    private static async Task<List<Lease>> ClaimAllAsync(TestStore db, int count)
    {
        var leases = new List<Lease>();
        for (var i = 0; i < count; i++)
        {
            var claimed = await db.Store.ClaimAsync(TestStore.Request($"worker-{i:D2}") with { LeaseTtl = ShortLease });
            Assert.True(claimed is not null, $"claim {i + 1} of {count} found nothing");
            leases.Add(claimed.Lease);
        }

        Assert.Null(await db.ClaimAsync("worker-extra"));
        return leases;
    }

    /// <summary>Starts every daemon's pass on its own thread at the same moment and waits for all of them.</summary>
    private static async Task<PassResult[]> RunTogetherAsync(IEnumerable<DaemonLoop> daemons)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var passes = daemons.Select(daemon => Task.Run(async () =>
        {
            await start.Task;
            return await daemon.RunOnceAsync(CancellationToken.None);
        })).ToList();
        start.SetResult();
        return await Task.WhenAll(passes);
    }

    private static void AssertOncePerAttempt(IReadOnlyList<EventRow> events, int expectedCount)
    {
        Assert.Equal(expectedCount, events.Count);
        var repeated = events.GroupBy(e => (e.TaskId, e.Attempt)).Where(g => g.Count() > 1).Select(g => $"{g.Key.TaskId} attempt {g.Key.Attempt}: {g.Count()} {g.First().Type} events");
        Assert.Empty(repeated);
    }

    /// <summary>Asserts that <paramref name="taskCount"/> tasks have exactly <paramref name="perTask"/> of these events each.</summary>
    private static void AssertPerTask(IReadOnlyList<EventRow> events, int taskCount, int perTask)
    {
        Assert.Equal(taskCount * perTask, events.Count);
        var wrong = events.GroupBy(e => e.TaskId).Where(g => g.Count() != perTask).Select(g => $"{g.Key}: {g.Count()} {g.First().Type} events");
        Assert.Empty(wrong);
    }
}
