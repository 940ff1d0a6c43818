using Dispatch.Daemons;
using Dispatch.Storage;
using Dispatch.Tests.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Daemons;

/// <summary>One reaper pass at a time against a real store, with time moved by the fake clock.</summary>
public sealed class ReaperTests : StoreTestBase, IDisposable
{
    private const double BackoffBaseSeconds = 30;
    private const double BackoffCapSeconds = 30 * 60;
    private const double BackoffJitter = 0.2;

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("dispatch-reaper-test-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    private static double NominalBackoffSeconds(int attemptsUsed) =>
        Math.Min(BackoffBaseSeconds * Math.Pow(2, attemptsUsed - 1), BackoffCapSeconds);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_ExpiredLeaseFails(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]), Spec("web", "docs", modifies: ["docs"]));
        var leaseTtl = TimeSpan.FromSeconds(10);
        var claimed = await db.Store.ClaimAsync(TestStore.Request("worker-1") with { LeaseTtl = leaseTtl });
        var running = await db.Store.ClaimAsync(TestStore.Request("worker-2") with { LeaseTtl = leaseTtl });
        Assert.NotNull(claimed);
        Assert.NotNull(running);
        Assert.True(await db.Store.MarkRunningAsync(running.Lease, null));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        // A lease is lost only after its expiry time, not at it.
        db.Clock.Advance(leaseTtl);
        var early = await reaper.RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, early["lease_expired"]);
        Assert.Equal(2, (await db.Store.ListLocksAsync()).Count);

        db.Clock.Advance(TimeSpan.FromSeconds(1));
        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, result["lease_expired"]);
        Assert.Equal(2, result["retry_scheduled"]);
        Assert.Equal(0, result["orphaned_locks"]);
        Assert.Empty(await db.Store.ListLocksAsync());
        foreach (var lease in new[] { claimed.Lease, running.Lease })
        {
            var task = await db.GetTaskAsync(lease.Key);
            Assert.Equal(TaskStates.Pending, task.State);
            Assert.Null(task.LeaseOwner);
            Assert.Contains("lease expired", task.LastError);
            Assert.Contains(lease.Owner, task.LastError);

            var attempt = Assert.Single(await db.Store.GetAttemptsAsync(task.Id));
            Assert.Equal(TaskStates.Failed, attempt.Outcome);
            Assert.Contains("lease expired", attempt.Error);

            var types = (await db.GetEventsAsync(lease.Key)).Select(e => e.Type).ToList();
            Assert.Equal(["imported", "claimed"], types.Take(2));
            Assert.Equal(["lease_expired", "retry_scheduled"], types.TakeLast(2));
            Assert.False(await db.CompleteAsync(lease), $"the worker of {lease.Key} finished after losing its lease");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_CompletedBeforePassStaysCompleted(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]));
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        // The lease ran out in fake time, but the owner's finish commits before the reaper looks.
        db.Clock.Advance(TestStore.LeaseTtl + TimeSpan.FromMinutes(5));
        Assert.True(await db.CompleteAsync(claimed.Lease));
        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(0, result["lease_expired"]);
        Assert.Equal(0, result["retry_scheduled"]);
        Assert.Equal(1, result["collected"]);
        var task = await db.GetTaskAsync(claimed.Lease.Key);
        Assert.Equal(TaskStates.Completed, task.State);
        Assert.Null(task.LastError);
        Assert.Equal(TaskStates.Completed, Assert.Single(await db.Store.GetAttemptsAsync(task.Id)).Outcome);
        Assert.Empty(await TestDaemons.GetEventsOfTypeAsync(db, "lease_expired"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_ExpiryBeforeFinishFencesWorker(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "build", modifies: ["src"]));
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.Store.MarkRunningAsync(claimed.Lease, null));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        db.Clock.Advance(TestStore.LeaseTtl + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await reaper.RunOnceAsync(CancellationToken.None))["lease_expired"]);

        Assert.False(await db.CompleteAsync(claimed.Lease), "the worker completed a task whose lease the reaper had expired");
        Assert.False(await db.Store.HeartbeatAsync(claimed.Lease, TestStore.LeaseTtl), "the worker renewed a lease the reaper had expired");
        var task = await db.GetTaskAsync(claimed.Lease.Key);
        Assert.Equal(TaskStates.Pending, task.State);
        Assert.Empty(await TestDaemons.GetEventsOfTypeAsync(db, TaskStates.Completed));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_BackoffDoublesToCap(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        int[] attemptsUsed = [1, 2, 3, 4, 5, 6, 7, 8, 40];
        await db.ImportAsync([.. attemptsUsed.Select(n => Spec("web", $"used-{n:D2}") with { MaxRetries = 100 })]);
        foreach (var n in attemptsUsed)
        {
            await db.ExecuteSqlAsync($"UPDATE tasks SET state = 'failed', attempt = {n} WHERE task_id = 'used-{n:D2}'");
        }

        var reaper = TestDaemons.Reaper(db, dataDirectory);
        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(attemptsUsed.Length, result["retry_scheduled"]);

        // The reaper decides failed tasks with equal updated_at in id order, so the twin draws the same jitter for each.
        var twin = new Random(TestDaemons.JitterSeed);
        var now = db.Clock.GetUtcNow();
        var previousSeconds = 0.0;
        foreach (var n in attemptsUsed)
        {
            var task = await db.GetTaskAsync("web", $"used-{n:D2}");
            Assert.Equal(TaskStates.Pending, task.State);
            Assert.NotNull(task.NotBefore);
            var seconds = (task.NotBefore.Value - now).TotalSeconds;
            var nominal = NominalBackoffSeconds(n);

            // The jitter spreads the doubled delay, and the cap applies after it, so no delay exceeds the cap.
            var uncapped = BackoffBaseSeconds * Math.Pow(2, Math.Min(n - 1, 30));
            Assert.InRange(seconds, Math.Min(uncapped * (1 - BackoffJitter), BackoffCapSeconds), Math.Min(uncapped * (1 + BackoffJitter), BackoffCapSeconds));
            var expected = Math.Min(uncapped * (1 + BackoffJitter * (2 * twin.NextDouble() - 1)), BackoffCapSeconds);
            Assert.Equal(expected, seconds, tolerance: 0.002);
            if (nominal < BackoffCapSeconds)
            {
                Assert.True(seconds > previousSeconds, $"the backoff after {n} attempts ({seconds} s) is not longer than the one before ({previousSeconds} s)");
            }

            previousSeconds = seconds;
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_SpentBudgetDeadLetters(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "spent") with { MaxRetries = 1 },
            Spec("web", "one-left") with { MaxRetries = 1 },
            Spec("web", "rebased") with { MaxRetries = 1 },
            Spec("web", "rebased-spent") with { MaxRetries = 1 },
            Spec("web", "no-retries") with { MaxRetries = 0 });

        // Attempts used = attempt - retry_base, and the budget is max_retries + 1 attempts.
        await db.ExecuteSqlAsync("UPDATE tasks SET state = 'failed', attempt = 2, retry_base = 0 WHERE task_id = 'spent'");
        await db.ExecuteSqlAsync("UPDATE tasks SET state = 'failed', attempt = 1, retry_base = 0 WHERE task_id = 'one-left'");
        await db.ExecuteSqlAsync("UPDATE tasks SET state = 'failed', attempt = 5, retry_base = 4 WHERE task_id = 'rebased'");
        await db.ExecuteSqlAsync("UPDATE tasks SET state = 'failed', attempt = 5, retry_base = 3 WHERE task_id = 'rebased-spent'");
        await db.ExecuteSqlAsync("UPDATE tasks SET state = 'failed', attempt = 1, retry_base = 0 WHERE task_id = 'no-retries'");
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(3, result["deadlettered"]);
        Assert.Equal(2, result["retry_scheduled"]);
        Assert.Equal(TaskStates.DeadLetter, (await db.GetTaskAsync("web", "spent")).State);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "one-left")).State);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "rebased")).State);
        Assert.Equal(TaskStates.DeadLetter, (await db.GetTaskAsync("web", "rebased-spent")).State);
        Assert.Equal(TaskStates.DeadLetter, (await db.GetTaskAsync("web", "no-retries")).State);

        var again = await reaper.RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, again["deadlettered"]);
        Assert.Equal(0, again["retry_scheduled"]);
        Assert.Equal(3, (await TestDaemons.GetEventsOfTypeAsync(db, "deadlettered")).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_RetriesUntilDeadLetter(string backend)
    {
        const int maxRetries = 3;
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "flaky", modifies: ["src"]) with { MaxRetries = maxRetries });
        var reaper = TestDaemons.Reaper(db, dataDirectory);
        var gaps = new List<TimeSpan>();

        for (var attempt = 1; attempt <= maxRetries + 1; attempt++)
        {
            var claimed = await db.ClaimAsync($"worker-{attempt}");
            Assert.True(claimed is not null, $"attempt {attempt} found nothing to claim");
            Assert.Equal(attempt, claimed.Lease.Attempt);
            Assert.True(await TestDaemons.FailAsync(db, claimed.Lease, $"attempt {attempt} failed"));
            var failedAt = db.Clock.GetUtcNow();

            var result = await reaper.RunOnceAsync(CancellationToken.None);
            var task = await db.GetTaskAsync("web", "flaky");
            Assert.Empty(await db.Store.ListLocksAsync());
            if (attempt == maxRetries + 1)
            {
                Assert.Equal(1, result["deadlettered"]);
                Assert.Equal(0, result["retry_scheduled"]);
                Assert.Equal(TaskStates.DeadLetter, task.State);
                break;
            }

            Assert.Equal(1, result["retry_scheduled"]);
            Assert.Equal(0, result["deadlettered"]);
            Assert.Equal(TaskStates.Pending, task.State);
            Assert.NotNull(task.NotBefore);
            var gap = task.NotBefore.Value - failedAt;
            var nominal = NominalBackoffSeconds(attempt);
            Assert.InRange(gap.TotalSeconds, nominal * (1 - BackoffJitter), nominal * (1 + BackoffJitter));
            gaps.Add(gap);

            // Not claimable until its retry time has passed.
            db.Clock.Advance(gap - TimeSpan.FromSeconds(1));
            Assert.Null(await db.ClaimAsync("worker-early"));
            db.Clock.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(maxRetries, gaps.Count);
        for (var i = 1; i < gaps.Count; i++)
        {
            Assert.True(gaps[i] > gaps[i - 1], $"retry gap {i + 1} ({gaps[i]}) is not longer than gap {i} ({gaps[i - 1]})");
        }

        var final = await db.GetTaskAsync("web", "flaky");
        Assert.Equal(maxRetries + 1, final.Attempt);
        var attempts = await db.Store.GetAttemptsAsync(final.Id);
        Assert.Equal(maxRetries + 1, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(TaskStates.Failed, a.Outcome));
        Assert.Equal(maxRetries, (await TestDaemons.GetEventsOfTypeAsync(db, "retry_scheduled")).Count);
        Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "deadlettered"));

        // A dead-lettered task stays put however much time passes.
        db.Clock.Advance(TimeSpan.FromDays(1));
        Assert.False((await reaper.RunOnceAsync(CancellationToken.None)).DidAnything);
        Assert.Null(await db.ClaimAsync("worker-late"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_OperatorRetryRestoresBudget(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "flaky") with { MaxRetries = 0 });
        var reaper = TestDaemons.Reaper(db, dataDirectory);
        var first = await db.ClaimRequiredAsync();
        Assert.True(await TestDaemons.FailAsync(db, first.Lease));
        Assert.Equal(1, (await reaper.RunOnceAsync(CancellationToken.None))["deadlettered"]);

        Assert.Equal(OperatorOutcome.Done, await db.Store.RetryAsync(first.Lease.TaskPk));
        var second = await db.ClaimRequiredAsync("worker-2");
        Assert.Equal(2, second.Lease.Attempt);
        Assert.True(await TestDaemons.FailAsync(db, second.Lease));
        var result = await reaper.RunOnceAsync(CancellationToken.None);

        // max_retries 0 allows one attempt per budget, and the operator's retry opened a new budget.
        Assert.Equal(1, result["deadlettered"]);
        var task = await db.GetTaskAsync(second.Lease.Key);
        Assert.Equal(TaskStates.DeadLetter, task.State);
        Assert.Equal(1, task.RetryBase);
        Assert.Equal(2, (await TestDaemons.GetEventsOfTypeAsync(db, "deadlettered")).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_StampsCollected(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "a"), Spec("web", "b"), Spec("web", "c"));
        Assert.True(await db.CompleteAsync((await db.ClaimRequiredAsync()).Lease));
        Assert.True(await db.CompleteAsync((await db.ClaimRequiredAsync()).Lease));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, result["collected"]);
        Assert.Equal(2, await db.QueryScalarAsync<long>("SELECT COUNT(*) FROM tasks WHERE collected_at IS NOT NULL"));
        Assert.Equal(0, await db.QueryScalarAsync<long>("SELECT COUNT(*) FROM tasks WHERE state <> 'completed' AND collected_at IS NOT NULL"));

        var again = await reaper.RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, again["collected"]);
        Assert.False(again.DidAnything, $"an idle pass did something: {again}");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_SweepsOrphanedLocks(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "a", modifies: ["src"]), Spec("web", "b", modifies: ["docs"]));
        var claimed = await db.ClaimRequiredAsync();
        Assert.Equal("a", claimed.Lease.Key.TaskId);

        // Two locks no transition should leave behind: one on a pending task, one from an earlier attempt of a running task.
        await db.ExecuteSqlAsync(
            "INSERT INTO locks (project, path, task_pk, attempt, acquired_at) SELECT project, 'docs', id, 1, created_at FROM tasks WHERE task_id = 'b'");
        await db.ExecuteSqlAsync(
            "INSERT INTO locks (project, path, task_pk, attempt, acquired_at) SELECT project, 'src-old', id, attempt - 1, created_at FROM tasks WHERE task_id = 'a'");
        Assert.Null(await db.ClaimAsync("worker-2"));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, result["orphaned_locks"]);
        var remaining = Assert.Single(await db.Store.ListLocksAsync());
        Assert.Equal(("web", "src", claimed.Lease.TaskPk), remaining);
        var b = await db.ClaimAsync("worker-2");
        Assert.Equal("b", b?.Lease.Key.TaskId);
        Assert.Equal(0, (await reaper.RunOnceAsync(CancellationToken.None))["orphaned_locks"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_ResyncsNodeRunningCounts(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "a"), Spec("web", "b"), Spec("web", "c"), Spec("web", "d"));
        await TestDaemons.RegisterNodeAsync(db, "node-worker-1");
        await TestDaemons.RegisterNodeAsync(db, "node-worker-2");
        await TestDaemons.RegisterNodeAsync(db, "node-idle");
        await db.ClaimRequiredAsync("worker-1");
        await db.ClaimRequiredAsync("worker-1");
        await db.ClaimRequiredAsync("worker-2");

        // The counts the workers reported are wrong: 7 on node-worker-1, 0 on node-worker-2.
        await db.Store.HeartbeatNodeAsync("node-worker-1", "worker-1", 7);
        await db.Store.HeartbeatNodeAsync("node-worker-2", "worker-2", 0);
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, result["node_counts_fixed"]);
        Assert.Equal(2, (await TestDaemons.GetNodeAsync(db, "node-worker-1")).RunningCount);
        Assert.Equal(1, (await TestDaemons.GetNodeAsync(db, "node-worker-2")).RunningCount);
        Assert.Equal(0, (await TestDaemons.GetNodeAsync(db, "node-idle")).RunningCount);
        Assert.Equal(0, (await reaper.RunOnceAsync(CancellationToken.None))["node_counts_fixed"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reaper_PrunesOldEventsAndLogs(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "a"));
        db.Clock.Advance(TimeSpan.FromDays(31));
        await db.Store.AppendEventAsync("test_marker", null, null, new { note = "recent" });

        var now = db.Clock.GetUtcNow().UtcDateTime;
        var oldAttempt = Directory.CreateDirectory(Path.Combine(dataDirectory, "runs", "web", "a", "attempt-1")).FullName;
        var recentAttempt = Directory.CreateDirectory(Path.Combine(dataDirectory, "runs", "web", "a", "attempt-2")).FullName;
        File.WriteAllText(Path.Combine(oldAttempt, "output.log"), "old run\n");
        Directory.SetLastWriteTimeUtc(oldAttempt, now - TimeSpan.FromDays(15));
        Directory.SetLastWriteTimeUtc(recentAttempt, now - TimeSpan.FromDays(1));
        var reaper = TestDaemons.Reaper(db, dataDirectory);

        var result = await reaper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["events_pruned"]);
        Assert.Equal("test_marker", Assert.Single(await db.GetEventsAsync()).Type);
        Assert.Equal(1, result["logs_pruned"]);
        Assert.False(Directory.Exists(oldAttempt), "the 15-day-old attempt folder was kept");
        Assert.True(Directory.Exists(recentAttempt), "the 1-day-old attempt folder was deleted");
    }
}
