using Dispatch.Scheduling;
using Dispatch.Specs;
using Dispatch.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Storage;

/// <summary>
/// Many workers claiming from one store at once, each from its own task and
/// connection, with the invariants checked while they run.
/// </summary>
public sealed class StoreContentionTests : StoreTestBase
{
    private const int TaskCount = 60;
    private const int WorkerCount = 16;

    /// <summary>How long an idle worker waits for another worker's finish before it tries to claim again anyway.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The maximum time a worker keeps a task while it waits for another worker's claim.
    /// Without the wait, SQLite's busy handler lets the worker that has the write
    /// lock run its whole cycle while the others back off, so claims rarely overlap.
    /// </summary>
    private static readonly TimeSpan MaxHold = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Paths that make many tasks conflict: equal paths and directory prefixes
    /// (<c>src</c> and <c>src/lib/util.py</c>), plus near misses that must not
    /// conflict (<c>src/a.py.orig</c>, <c>src_old/a.py</c>).
    /// </summary>
    private static readonly string[] PathPool =
    [
        "src", "src/a.py", "src/b.py", "src/lib", "src/lib/util.py", "src/a.py.orig", "src_old/a.py",
        "docs", "docs/guide.md", "README.md", "tests", "tests/test_a.py",
    ];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Claim_UnderContention(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        var specs = ContentionSpecs();
        await db.ImportAsync([.. specs]);
        var ledger = new ClaimLedger(specs);

        using var stop = new CancellationTokenSource(Deadline);
        var workers = Enumerable.Range(1, WorkerCount).Select(number => RunWorkerAsync(db.Store, number, ledger, stop));
        await Task.WhenAll(workers);

        Assert.False(stop.IsCancellationRequested,
            $"the workers finished {ledger.FinishedCount} of {specs.Count} tasks within {Deadline}");
        Assert.Empty(ledger.DoubleClaims);
        Assert.Empty(ledger.PathConflicts);
        Assert.Empty(ledger.EarlyDependents);
        Assert.Empty(ledger.RejectedWrites);

        var claimCounts = ledger.Intervals.GroupBy(interval => interval.Key).ToDictionary(group => group.Key, group => group.Count());
        Assert.Empty(specs
            .Select(spec => new TaskKey(spec.Project, spec.TaskId))
            .Where(key => claimCounts.GetValueOrDefault(key) != 1)
            .Select(key => $"{key} was claimed {claimCounts.GetValueOrDefault(key)} times"));

        var tasks = await db.Store.ListTasksAsync(null);
        Assert.Equal(specs.Count, tasks.Count);
        Assert.Empty(tasks.Where(task => task.State != TaskStates.Completed).Select(task => $"{task.Key} is {task.State}"));
        Assert.Empty(tasks.Where(task => task.Attempt != 1).Select(task => $"{task.Key} has attempt {task.Attempt}"));
        Assert.Empty(await db.Store.ListLocksAsync());

        var completedEvents = (await db.GetEventsAsync()).Count(e => e.Type == TaskStates.Completed);
        Assert.Equal(specs.Count, completedEvents);

        // Without overlap the checks above prove nothing about concurrency.
        Assert.True(ledger.MaxHeld >= 2, $"at most {ledger.MaxHeld} task was held at a time, so the claims never overlapped");
    }

    /// <summary>
    /// Sixty tasks in two projects with one or two paths each from <see cref="PathPool"/>,
    /// mixed priorities, and a few dependencies. The seed is fixed, so every run gets the same set.
    /// </summary>
    private static List<TaskSpec> ContentionSpecs()
    {
        var random = new Random(20300101);
        var specs = new List<TaskSpec>();
        for (var i = 0; i < TaskCount; i++)
        {
            var project = i % 3 == 2 ? "beta" : "alpha";
            var modifies = PathPool.OrderBy(_ => random.Next()).Take(1 + random.Next(2)).ToArray();

            // i and i - 6 are both multiples of 3, so the dependency is in the same project ("alpha").
            string[] dependsOn = i >= 12 && i % 6 == 0 ? [$"task-{i - 6:D2}"] : [];
            specs.Add(Spec(project, $"task-{i:D2}", priority: random.Next(4), dependsOn: dependsOn, modifies: modifies));
        }

        return specs;
    }

    /// <summary>
    /// Claims, starts, heartbeats and completes tasks until all are finished, holding
    /// each task until another worker claims one or <see cref="MaxHold"/> passes. Even
    /// workers name their executors and odd ones take any, so both claim filters run.
    /// A worker that finds nothing waits for the next finish, or for <see cref="IdlePoll"/>
    /// because a claim that skipped rows locked by a claim that then took nothing gets no finish signal.
    /// </summary>
    private static Task RunWorkerAsync(SqlStore store, int number, ClaimLedger ledger, CancellationTokenSource stop) => Task.Run(async () =>
    {
        var owner = $"worker-{number:D2}";
        var request = number % 2 == 0
            ? new ClaimRequest(owner, "node-even", [TestStore.Defaults.Executor, "other"], AnyExecutor: false, TestStore.LeaseTtl)
            : new ClaimRequest(owner, "node-odd", [], AnyExecutor: true, TestStore.LeaseTtl);
        try
        {
            while (!ledger.AllFinished && !stop.IsCancellationRequested)
            {
                // Taken before the claim, so a finish that happens during the claim still wakes this worker.
                var nextFinish = ledger.NextFinish;
                var claimed = await store.ClaimAsync(request);
                if (claimed is null)
                {
                    await Task.WhenAny(nextFinish, Task.Delay(IdlePoll, stop.Token));
                    continue;
                }

                var nextClaim = ledger.OnClaimed(owner, claimed);
                if (!await store.MarkRunningAsync(claimed.Lease, null))
                {
                    ledger.OnRejectedWrite(owner, claimed, "MarkRunningAsync");
                }

                if (!await store.HeartbeatAsync(claimed.Lease, TestStore.LeaseTtl))
                {
                    ledger.OnRejectedWrite(owner, claimed, "HeartbeatAsync");
                }

                await Task.WhenAny(nextClaim, Task.Delay(MaxHold, stop.Token));
                ledger.OnFinishing(owner, claimed);
                var finished = await store.FinishAsync(claimed.Lease, new RunResult(true, 0, null, null));
                if (!finished)
                {
                    ledger.OnRejectedWrite(owner, claimed, "FinishAsync");
                }

                ledger.OnFinished();
            }
        }
        catch
        {
            // Stops the other workers at once instead of at the deadline.
            stop.Cancel();
            throw;
        }
    });

    private static bool PathsConflict(string first, string second) =>
        first == second ||
        first.StartsWith(second + "/", StringComparison.Ordinal) ||
        second.StartsWith(first + "/", StringComparison.Ordinal);

    /// <summary>One claim as the workers saw it: sequence numbers from the claim's return to the call to finish.</summary>
    private sealed record ClaimInterval(TaskKey Key, string Owner, long Start, long End);

    /// <summary>
    /// The tasks the workers hold, checked under one lock. A task is added after
    /// ClaimAsync returns and removed before FinishAsync is called, so it is
    /// recorded only while the database has its lease and file locks, so an
    /// overlap seen here is an overlap in the database too.
    /// </summary>
    private sealed class ClaimLedger
    {
        private readonly Lock gate = new();
        private readonly Dictionary<TaskKey, TaskSpec> specs;
        private readonly Dictionary<TaskKey, (string Owner, long Start)> held = [];

        /// <summary>Tasks whose finish has been called. A dependent claimed before its dependency is here was claimed too early.</summary>
        private readonly HashSet<TaskKey> finishing = [];

        private TaskCompletionSource nextFinish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource nextClaim = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long sequence;
        private int finishedCount;

        public ClaimLedger(IEnumerable<TaskSpec> specs)
        {
            this.specs = specs.ToDictionary(spec => new TaskKey(spec.Project, spec.TaskId));
        }

        public List<string> DoubleClaims { get; } = [];

        public List<string> PathConflicts { get; } = [];

        public List<string> EarlyDependents { get; } = [];

        public List<string> RejectedWrites { get; } = [];

        public List<ClaimInterval> Intervals { get; } = [];

        public int MaxHeld { get; private set; }

        public int FinishedCount => Volatile.Read(ref finishedCount);

        public bool AllFinished => FinishedCount >= specs.Count;

        /// <summary>Completes at the next finish.</summary>
        public Task NextFinish
        {
            get
            {
                lock (gate)
                {
                    return nextFinish.Task;
                }
            }
        }

        /// <summary>Checks and records a claim, and returns a task that completes at the next claim by any worker.</summary>
        public Task OnClaimed(string owner, ClaimedTask claimed)
        {
            var key = claimed.Lease.Key;
            TaskCompletionSource previousClaim;
            Task followingClaim;
            lock (gate)
            {
                if (held.TryGetValue(key, out var holder))
                {
                    DoubleClaims.Add($"{owner} claimed {key} while {holder.Owner} holds it");
                }

                FindConflicts(key, owner, "at claim");
                foreach (var dependency in specs[key].DependsOn)
                {
                    var dependencyKey = new TaskKey(key.Project, dependency);
                    if (!finishing.Contains(dependencyKey))
                    {
                        EarlyDependents.Add($"{owner} claimed {key} before its dependency {dependencyKey} was finished");
                    }
                }

                held[key] = (owner, ++sequence);
                MaxHeld = Math.Max(MaxHeld, held.Count);

                previousClaim = nextClaim;
                nextClaim = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                followingClaim = nextClaim.Task;
            }

            previousClaim.SetResult();
            return followingClaim;
        }

        public void OnFinishing(string owner, ClaimedTask claimed)
        {
            var key = claimed.Lease.Key;
            lock (gate)
            {
                FindConflicts(key, owner, "at finish");
                if (held.Remove(key, out var holder))
                {
                    Intervals.Add(new ClaimInterval(key, owner, holder.Start, ++sequence));
                }

                finishing.Add(key);
            }
        }

        public void OnFinished()
        {
            TaskCompletionSource finished;
            lock (gate)
            {
                finished = nextFinish;
                nextFinish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            Interlocked.Increment(ref finishedCount);
            finished.SetResult();
        }

        public void OnRejectedWrite(string owner, ClaimedTask claimed, string operation)
        {
            lock (gate)
            {
                RejectedWrites.Add($"{operation} by {owner} on {claimed.Lease.Key} attempt {claimed.Lease.Attempt} returned false");
            }
        }

        /// <summary>Records every held task of the same project with a path that conflicts with one of <paramref name="key"/>'s.</summary>
        private void FindConflicts(TaskKey key, string owner, string moment)
        {
            foreach (var (otherKey, other) in held)
            {
                if (otherKey == key || otherKey.Project != key.Project)
                {
                    continue;
                }

                foreach (var path in specs[key].Modifies)
                {
                    foreach (var otherPath in specs[otherKey].Modifies.Where(otherPath => PathsConflict(path, otherPath)))
                    {
                        PathConflicts.Add($"{moment}: {key} ({owner}) has \"{path}\" while {otherKey} ({other.Owner}) holds \"{otherPath}\"");
                    }
                }
            }
        }
    }
}
