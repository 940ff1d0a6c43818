using Dispatch.Storage;

namespace Dispatch.Bench;

/// <summary>Runs the named scenarios, prints a line per result as it comes, and a table of all results at the end.</summary>
internal sealed class ScenarioRunner(BenchOptions options, BenchDatabases databases)
{
    private const double ThroughputTarget = 2_000;
    private const double HangfireRatioTarget = 3;
    private const double ImportTargetSeconds = 5;
    private const double StatusTargetMilliseconds = 300;
    private const double ClaimTargetMilliseconds = 10;

    /// <summary>Status reads and single claims timed per scale run. The run reports their medians.</summary>
    private const int StatusReads = 5;
    private const int Claims = 11;

    private readonly List<Measurement> results = [];

    private IEnumerable<DatabaseBackend> Backends =>
        databases.HasPostgres ? [DatabaseBackend.Sqlite, DatabaseBackend.Postgres] : [DatabaseBackend.Sqlite];

    public async Task RunAsync(string scenario)
    {
        await (scenario switch
        {
            "throughput" => ThroughputAsync(),
            "hangfire" => HangfireAsync(),
            "import" => ImportAsync(),
            "scale" => ScaleAsync(),
            _ => throw new ArgumentException($"unknown scenario \"{scenario}\"", nameof(scenario)),
        });
        Console.WriteLine();
    }

    private string ThroughputShape =>
        $"{Quantity(options.Workers, "worker")}, {Quantity(options.ThroughputTasks, "task")} in {Quantity(options.ThroughputProjects, "project")}";

    private static string Quantity(int value, string noun) => $"{value:N0} {noun}{(value == 1 ? "" : "s")}";

    private async Task ThroughputAsync()
    {
        foreach (var backend in Backends)
        {
            foreach (var markRunning in new[] { false, true })
            {
                var path = markRunning ? "claim+running+finish" : "claim+finish";
                var rates = new List<double>();
                for (var run = 1; run <= options.Runs; run++)
                {
                    var result = await DispatchThroughput.RunAsync(databases, backend, options.ThroughputTasks, options.Workers, options.ThroughputProjects, markRunning, options.Analyze);
                    rates.Add(result.TasksPerSecond);
                    Detail($"throughput {Name(backend)} {path} run {run}: {Format.Number(result.TasksPerSecond)} tasks/s, " +
                           $"{result.Elapsed.TotalSeconds:0.00} s, {result.EmptyClaims} empty claims, " +
                           $"tasks table analyzed before the run: {YesNo(result.AnalyzedBefore)}, after: {YesNo(result.AnalyzedAfter)}");
                }

                Report(new Measurement("throughput", Name(backend), $"{path}, {ThroughputShape}",
                    "tasks/s", rates, ThroughputTarget, Goal.AtLeast));
            }
        }
    }

    private async Task HangfireAsync()
    {
        if (!databases.HasPostgres)
        {
            Console.WriteLine("[hangfire] skipped: the comparison runs on PostgreSQL only, pass --pg URI");
            return;
        }

        var dispatchRates = new List<double>();
        var hangfireRates = new List<double>();
        var ratios = new List<double>();
        for (var run = 1; run <= options.Runs; run++)
        {
            // Dispatch and Hangfire alternate, so a slow stretch of a noisy machine hits both sides of a ratio alike.
            var dispatch = await DispatchThroughput.RunAsync(databases, DatabaseBackend.Postgres, options.ThroughputTasks, options.Workers, options.ThroughputProjects, markRunning: false, options.Analyze);
            var hangfire = await HangfireThroughput.RunAsync(databases, options.ThroughputTasks, options.Workers, options.Analyze);
            dispatchRates.Add(dispatch.TasksPerSecond);
            hangfireRates.Add(hangfire.JobsPerSecond);
            ratios.Add(dispatch.TasksPerSecond / hangfire.JobsPerSecond);
            Detail($"hangfire run {run}: Dispatch {Format.Number(dispatch.TasksPerSecond)} tasks/s, Hangfire {Format.Number(hangfire.JobsPerSecond)} jobs/s " +
                   $"(enqueue {Format.Number(hangfire.EnqueuedPerSecond)} jobs/s), ratio {ratios[^1]:0.00}, " +
                   $"Dispatch tasks table analyzed before the run: {YesNo(dispatch.AnalyzedBefore)}, after: {YesNo(dispatch.AnalyzedAfter)}");
        }

        Report(new Measurement("hangfire", "postgres", $"Dispatch claim+finish, {ThroughputShape}", "tasks/s", dispatchRates, ThroughputTarget, Goal.AtLeast));
        Report(new Measurement("hangfire", "postgres", $"Hangfire.PostgreSql fetch+remove, {Quantity(options.Workers, "fetcher")}, {Quantity(options.ThroughputTasks, "job")}",
            "jobs/s", hangfireRates, null, Goal.AtLeast));
        Report(new Measurement("hangfire", "postgres", "Dispatch / Hangfire, paired per run", "x", ratios, HangfireRatioTarget, Goal.AtLeast));
    }

    private async Task ImportAsync()
    {
        foreach (var backend in Backends)
        {
            var seconds = new List<double>();
            for (var run = 1; run <= options.Runs; run++)
            {
                seconds.Add(await ImportBenchmark.RunAsync(databases, backend, options.ImportSpecs));
                Detail($"import {Name(backend)} run {run}: {seconds[^1]:0.00} s");
            }

            Report(new Measurement("import", Name(backend), $"ImportAsync of {options.ImportSpecs:N0} specs, 40 % with dependencies",
                "s", seconds, ImportTargetSeconds, Goal.AtMost));
        }
    }

    private async Task ScaleAsync()
    {
        foreach (var backend in Backends)
        {
            var seeds = new List<double>();
            var firstStatus = new List<double>();
            var status = new List<double>();
            var counts = new List<double>();
            var lists = new List<double>();
            var claims = new List<double>();
            var slowestClaims = new List<double>();
            for (var run = 1; run <= options.Runs; run++)
            {
                var result = await ScaleBenchmark.RunAsync(databases, backend, options.ScaleTasks, StatusReads, Claims, options.Analyze);
                seeds.Add(result.SeedSeconds);
                firstStatus.Add(result.FirstStatus.TotalMilliseconds);
                status.Add(Statistics.Median(result.Status.Select(read => read.TotalMilliseconds).ToList()));
                counts.Add(Statistics.Median(result.Status.Select(read => read.CountMilliseconds).ToList()));
                lists.Add(Statistics.Median(result.Status.Select(read => read.ListMilliseconds).ToList()));
                claims.Add(Statistics.Median(result.ClaimMilliseconds));
                slowestClaims.Add(result.ClaimMilliseconds.Max());
                Detail($"scale {Name(backend)} run {run}: seed {result.SeedSeconds:0.0} s, first status {result.FirstStatus.TotalMilliseconds:0} ms, " +
                       $"status {Format.Runs(result.Status.Select(read => read.TotalMilliseconds))} ms " +
                       $"(counts {Format.Runs(result.Status.Select(read => read.CountMilliseconds))}, " +
                       $"list {Format.Runs(result.Status.Select(read => read.ListMilliseconds))}), " +
                       $"claims {Format.Runs(result.ClaimMilliseconds)} ms, tasks table analyzed before the reads: {YesNo(result.HadPlannerStatistics)}");
            }

            var tasks = $"{options.ScaleTasks:N0} tasks";
            Report(new Measurement("scale", Name(backend), $"seed {tasks} (ImportAsync, {ScaleBenchmark.SeedBatch:N0} a batch)", "s", seeds, null, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), $"first status read over {tasks}", "ms", firstStatus, null, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), $"status (CountByState + ListTasks) over {tasks}, median of {StatusReads}",
                "ms", status, StatusTargetMilliseconds, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), "status part: CountByStateAsync", "ms", counts, null, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), "status part: ListTasksAsync", "ms", lists, null, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), $"one ClaimAsync over {tasks}, median of {Claims}",
                "ms", claims, ClaimTargetMilliseconds, Goal.AtMost));
            Report(new Measurement("scale", Name(backend), $"slowest of the {Claims} claims", "ms", slowestClaims, null, Goal.AtMost));
        }
    }

    /// <summary>Prints every result as a Markdown table, ready for BENCHMARKS.md.</summary>
    public void PrintSummary()
    {
        Console.WriteLine("Summary:");
        Console.WriteLine();
        Console.WriteLine("| scenario | backend | measured | median | runs | target | result |");
        Console.WriteLine("|---|---|---|---:|---|---|---|");
        foreach (var result in results)
        {
            Console.WriteLine($"| {result.Scenario} | {result.Backend} | {result.Metric} | {Format.Number(result.Median)} {result.Unit} | " +
                              $"{Format.Runs(result.Runs)} | {result.TargetText} | {result.Verdict} |");
        }
    }

    private void Report(Measurement measurement)
    {
        results.Add(measurement);
        var verdict = measurement.Verdict.Length > 0 ? $": {measurement.Verdict}" : "";
        Console.WriteLine($"[{measurement.Scenario}] {measurement.Backend} {measurement.Metric}: median {Format.Number(measurement.Median)} {measurement.Unit} " +
                          $"(runs {Format.Runs(measurement.Runs)}); target {measurement.TargetText}{verdict}");
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static void Detail(string line) => Console.WriteLine($"  {line}");

    private static string Name(DatabaseBackend backend) => backend == DatabaseBackend.Postgres ? "postgres" : "sqlite";
}
