using System.Diagnostics;
using Dispatch.Storage;

namespace Dispatch.Bench;

/// <summary>What one claim-and-finish run measured.</summary>
/// <param name="AnalyzedBefore">Whether the tasks table had planner statistics when the clock started.</param>
/// <param name="AnalyzedAfter">Whether it had them when the run ended: autovacuum may analyze it during a run.</param>
internal sealed record ThroughputRun(double TasksPerSecond, TimeSpan Elapsed, long EmptyClaims, bool AnalyzedBefore, bool AnalyzedAfter);

/// <summary>
/// The claim-and-complete run: no-op tasks claimed and finished through
/// <see cref="SqlStore"/> by concurrent workers. Each worker is its own owner
/// and node and opens its own store, as a separate worker process would. No
/// executor runs: the loop is ClaimAsync, optionally MarkRunningAsync, then
/// FinishAsync with success.
/// </summary>
internal static class DispatchThroughput
{
    /// <summary>The maximum duration of one run. A run past it fails with an OperationCanceledException.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a worker waits after a claim that found nothing before it tries
    /// again. Near the end of a run every remaining task can be row-locked by other
    /// claims in flight, so an empty claim does not mean the run is over.
    /// </summary>
    private static readonly TimeSpan EmptyClaimPause = TimeSpan.FromMilliseconds(1);

    public static async Task<ThroughputRun> RunAsync(BenchDatabases databases, DatabaseBackend backend, int taskCount, int workerCount, int projects, bool markRunning, bool analyze)
    {
        await using var database = await databases.CreateAsync(backend, "throughput");
        await using (var importer = await database.OpenMigratedStoreAsync())
        {
            var summary = await importer.ImportAsync(BenchSpecs.Independent(taskCount, projects), new ImportDefaults("noop", MaxRetries: 0));
            if (summary.Imported != taskCount)
            {
                throw new InvalidOperationException($"the import created {summary.Imported} tasks instead of {taskCount}");
            }
        }

        if (analyze)
        {
            await database.AnalyzeAsync();
        }

        var analyzedBefore = await database.HasPlannerStatisticsAsync();
        var stores = Enumerable.Range(0, workerCount).Select(_ => SqlStore.Create(database.Target)).ToList();
        try
        {
            // One read per store opens a pooled connection before the clock starts, so the run does not time connection set-up.
            await Task.WhenAll(stores.Select(store => store.CountByStateAsync(project: null)));

            var progress = new Progress(taskCount);
            using var deadline = new CancellationTokenSource(Deadline);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var workers = stores.Select((store, index) => WorkAsync(store, index + 1, markRunning, progress, start.Task, deadline.Token)).ToList();

            var stopwatch = Stopwatch.StartNew();
            start.SetResult();
            await Task.WhenAll(workers);
            stopwatch.Stop();

            await VerifyAllCompletedAsync(stores[0], taskCount);
            var analyzedAfter = await database.HasPlannerStatisticsAsync();
            return new ThroughputRun(taskCount / stopwatch.Elapsed.TotalSeconds, stopwatch.Elapsed, progress.EmptyClaims, analyzedBefore, analyzedAfter);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    private static async Task WorkAsync(SqlStore store, int number, bool markRunning, Progress progress, Task start, CancellationToken cancellationToken)
    {
        var request = new ClaimRequest($"bench-worker-{number}", $"bench-node-{number}", [], AnyExecutor: true, LeaseTtl: TimeSpan.FromSeconds(60));
        var success = new RunResult(Succeeded: true, ExitCode: 0, Error: null, LogPath: null);
        await start;

        while (!progress.IsDone)
        {
            var claimed = await store.ClaimAsync(request, cancellationToken);
            if (claimed is null)
            {
                progress.CountEmptyClaim();
                await Task.Delay(EmptyClaimPause, cancellationToken);
                continue;
            }

            if (markRunning && !await store.MarkRunningAsync(claimed.Lease, logPath: null, cancellationToken))
            {
                throw new InvalidOperationException($"worker {number} lost the lease of {claimed.Lease.Key} before it started");
            }

            if (!await store.FinishAsync(claimed.Lease, success, cancellationToken))
            {
                throw new InvalidOperationException($"worker {number} lost the lease of {claimed.Lease.Key} before it finished");
            }

            progress.CountFinished();
        }
    }

    private static async Task VerifyAllCompletedAsync(SqlStore store, int taskCount)
    {
        var counts = await store.CountByStateAsync(project: null);
        var completed = counts.Where(count => count.State == TaskStates.Completed).Sum(count => count.Count);
        if (completed != taskCount)
        {
            var states = string.Join(", ", counts.Select(count => $"{count.State}={count.Count}"));
            throw new InvalidOperationException($"expected {taskCount} completed tasks after the run, found {states}");
        }
    }

    /// <summary>Counters shared by the workers of one run.</summary>
    private sealed class Progress(int taskCount)
    {
        private int finished;
        private long emptyClaims;

        public bool IsDone => Volatile.Read(ref finished) >= taskCount;

        public long EmptyClaims => Interlocked.Read(ref emptyClaims);

        public void CountFinished() => Interlocked.Increment(ref finished);

        public void CountEmptyClaim() => Interlocked.Increment(ref emptyClaims);
    }
}
