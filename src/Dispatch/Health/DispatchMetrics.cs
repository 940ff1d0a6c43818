using Dispatch.Daemons;
using Dispatch.Storage;
using Prometheus;

namespace Dispatch.Health;

/// <summary>
/// The Prometheus series of one process, in a registry of its own. Task
/// counts are read from the database at scrape time; everything else is
/// counted by this process as it works.
/// </summary>
public sealed class DispatchMetrics
{
    private readonly Gauge up;
    private readonly Gauge uptime;
    private readonly Gauge lastPassAge;
    private readonly Counter passes;
    private readonly Counter failedPasses;
    private readonly Gauge tasks;
    private readonly Counter transitions;
    private readonly Histogram claimLatency;
    private readonly Histogram runDuration;

    public DispatchMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        up = factory.CreateGauge("dispatch_daemon_up", "1 while the loop is healthy, 0 otherwise.", "service");
        uptime = factory.CreateGauge("dispatch_daemon_uptime_seconds", "Seconds since the loop started.", "service");
        lastPassAge = factory.CreateGauge("dispatch_daemon_last_pass_age_seconds", "Seconds since the last successful pass (uptime before the first).", "service");
        passes = factory.CreateCounter("dispatch_daemon_passes_total", "Passes run since the process started.", "service");
        failedPasses = factory.CreateCounter("dispatch_daemon_failed_passes_total", "Passes that failed since the process started.", "service");
        tasks = factory.CreateGauge("dispatch_tasks", "Tasks per project and state, read from the database at scrape time.", "project", "state");
        transitions = factory.CreateCounter("dispatch_transitions_total", "Transitions and maintenance actions made by this process.", "transition");
        claimLatency = factory.CreateHistogram("dispatch_claim_latency_seconds", "Duration of one claim statement, including empty claims.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
        runDuration = factory.CreateHistogram("dispatch_run_duration_seconds", "Duration of executor runs by outcome.",
            new HistogramConfiguration { LabelNames = ["outcome"], Buckets = Histogram.ExponentialBuckets(0.05, 2, 18) });
    }

    public CollectorRegistry Registry { get; }

    public void CountTransition(string transition, int count = 1)
    {
        if (count > 0)
        {
            transitions.WithLabels(transition).Inc(count);
        }
    }

    public void ObserveClaim(TimeSpan duration) => claimLatency.Observe(duration.TotalSeconds);

    public void ObserveRun(string outcome, TimeSpan duration) => runDuration.WithLabels(outcome).Observe(duration.TotalSeconds);

    /// <summary>Counts a pass of <paramref name="service"/>, failed when <paramref name="result"/> is null, and its actions as transitions.</summary>
    public void RecordPass(string service, PassResult? result)
    {
        passes.WithLabels(service).Inc();
        if (result is null)
        {
            failedPasses.WithLabels(service).Inc();
            return;
        }

        foreach (var (action, count) in result.Counts)
        {
            CountTransition(action, count);
        }
    }

    /// <summary>Refreshes the loop and task gauges; a database failure leaves the task gauges as they were.</summary>
    public async Task RefreshAsync(IEnumerable<DaemonStatus> loops, IDispatchStore? store, CancellationToken cancellationToken)
    {
        foreach (var loop in loops)
        {
            var snapshot = loop.Snapshot();
            up.WithLabels(loop.Service).Set(snapshot.Healthy ? 1 : 0);
            uptime.WithLabels(loop.Service).Set(snapshot.Uptime.TotalSeconds);
            lastPassAge.WithLabels(loop.Service).Set((snapshot.LastPassAge ?? snapshot.Uptime).TotalSeconds);
        }

        if (store is null)
        {
            return;
        }

        try
        {
            var counts = await store.CountByStateAsync(null, cancellationToken);
            foreach (var project in counts.Select(c => c.Project).Distinct())
            {
                foreach (var state in TaskStates.All)
                {
                    tasks.WithLabels(project, state).Set(counts.Where(c => c.Project == project && c.State == state).Sum(c => c.Count));
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // /metrics still responds while the database is down, and /health reports the outage.
        }
    }

    public Task WriteAsync(Stream output, CancellationToken cancellationToken) => Registry.CollectAndExportAsTextAsync(output, cancellationToken);
}
