using System.Diagnostics;
using Dispatch.Storage;

namespace Dispatch.Bench;

/// <summary>What one scale run measured on one database of many stored tasks.</summary>
internal sealed record ScaleRun(
    double SeedSeconds,
    StatusTiming FirstStatus,
    IReadOnlyList<StatusTiming> Status,
    IReadOnlyList<double> ClaimMilliseconds,
    bool HadPlannerStatistics);

/// <summary>One status read in milliseconds: the state counts, the task list, and both together.</summary>
internal sealed record StatusTiming(double CountMilliseconds, double ListMilliseconds)
{
    public double TotalMilliseconds => CountMilliseconds + ListMilliseconds;
}

/// <summary>
/// Seeds a database with many pending tasks through ImportAsync in batches, then
/// times what <c>dispatch status</c> reads from the store (CountByStateAsync and
/// ListTasksAsync over every project) and single ClaimAsync calls.
/// </summary>
internal static class ScaleBenchmark
{
    public const int SeedBatch = 10_000;

    public static async Task<ScaleRun> RunAsync(BenchDatabases databases, DatabaseBackend backend, int taskCount, int statusReads, int claims, bool analyze)
    {
        await using var database = await databases.CreateAsync(backend, "scale");
        await using var store = await database.OpenMigratedStoreAsync();

        var seedSeconds = await SeedAsync(store, taskCount);
        if (analyze)
        {
            await database.AnalyzeAsync();
        }

        var hadStatistics = await database.HasPlannerStatisticsAsync();
        var firstStatus = await TimeStatusAsync(store, taskCount);
        var status = new List<StatusTiming>();
        for (var read = 0; read < statusReads; read++)
        {
            status.Add(await TimeStatusAsync(store, taskCount));
        }

        var request = new ClaimRequest("bench-worker", "bench-node", [], AnyExecutor: true, LeaseTtl: TimeSpan.FromSeconds(60));
        var claim = new List<double>();
        for (var attempt = 0; attempt < claims; attempt++)
        {
            var stopwatch = Stopwatch.StartNew();
            var claimed = await store.ClaimAsync(request);
            stopwatch.Stop();
            if (claimed is null)
            {
                throw new InvalidOperationException($"claim {attempt + 1} over {taskCount} stored tasks found nothing to claim");
            }

            claim.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        return new ScaleRun(seedSeconds, firstStatus, status, claim, hadStatistics);
    }

    /// <summary>Imports the tasks in batches of <see cref="SeedBatch"/> specs and returns the seconds it took.</summary>
    private static async Task<double> SeedAsync(SqlStore store, int taskCount)
    {
        var specs = BenchSpecs.WithDependencies(taskCount, ImportBenchmark.Projects);
        var defaults = new ImportDefaults("noop", MaxRetries: 0);
        var stopwatch = Stopwatch.StartNew();
        for (var offset = 0; offset < specs.Count; offset += SeedBatch)
        {
            var batch = specs.Skip(offset).Take(SeedBatch).ToList();
            var summary = await store.ImportAsync(batch, defaults);
            if (summary.Imported != batch.Count)
            {
                throw new InvalidOperationException($"the seed batch at {offset} created {summary.Imported} of {batch.Count} tasks");
            }
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>Times one CountByStateAsync and one ListTasksAsync over every project, one after the other.</summary>
    private static async Task<StatusTiming> TimeStatusAsync(SqlStore store, int taskCount)
    {
        var stopwatch = Stopwatch.StartNew();
        var counts = await store.CountByStateAsync(project: null);
        var countMilliseconds = stopwatch.Elapsed.TotalMilliseconds;

        stopwatch.Restart();
        var tasks = await store.ListTasksAsync(project: null);
        var listMilliseconds = stopwatch.Elapsed.TotalMilliseconds;

        if (tasks.Count != taskCount || counts.Sum(count => count.Count) != taskCount)
        {
            throw new InvalidOperationException($"status read {tasks.Count} tasks and counted {counts.Sum(count => count.Count)}, expected {taskCount}");
        }

        return new StatusTiming(countMilliseconds, listMilliseconds);
    }
}
