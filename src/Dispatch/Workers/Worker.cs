using Dispatch.Health;
using Dispatch.Scheduling;
using Dispatch.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Workers;

/// <summary>
/// Claims tasks up to its slot count and runs each in an <see cref="AttemptRunner"/>.
/// Stopping is two-phase: <c>stopClaiming</c> ends the claim loop and starts
/// the drain window; when it passes, unfinished runs are aborted and handed
/// back to pending without spending their attempt.
/// </summary>
public sealed partial class Worker
{
    private readonly IDispatchStore store;
    private readonly WorkerSettings settings;
    private readonly WakeSignal wake;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly AttemptRunner runner;
    private readonly List<Task> running = [];
    private readonly DispatchMetrics? metrics;

    /// <summary>Rate-limits claim errors: while the database is down every poll fails the same way.</summary>
    private readonly Daemons.RepeatedErrorLog claimErrors;

    public Worker(IDispatchStore store, WorkerSettings settings, WakeSignal wake, TimeProvider clock, ILogger logger, DispatchMetrics? metrics = null)
    {
        this.store = store;
        this.settings = settings;
        this.wake = wake;
        this.clock = clock;
        this.logger = logger;
        WorkerId = WorkerIdentity.Create(settings.Node);
        this.metrics = metrics;
        runner = new AttemptRunner(store, settings, clock, logger, metrics);
        claimErrors = new Daemons.RepeatedErrorLog(logger, $"worker {settings.Node} claim", clock, TimeSpan.FromMinutes(1));
    }

    public string WorkerId { get; }

    /// <summary>Set after a claim round that found nothing to claim while no run was in flight.</summary>
    public bool Idle { get; private set; }

    /// <summary>Raised after every claim round, so a host can decide whether the work is done.</summary>
    public event Action? RoundCompleted;

    public async Task RunAsync(CancellationToken stopClaiming)
    {
        await store.RegisterNodeAsync(new NodeRegistration(
            settings.Node, WorkerId, settings.Slots, settings.Executors.Names.Concat(settings.Executors.ServesAll ? ["*"] : []).ToList(),
            VersionInfo.Version), CancellationToken.None);
        LogWorkerStarted(settings.Node, WorkerId, settings.Slots);

        using var abortRuns = new CancellationTokenSource();
        var request = new ClaimRequest(WorkerId, settings.Node, settings.Executors.Names, settings.Executors.ServesAll, settings.LeaseTtl);
        var lastNodeHeartbeat = clock.GetUtcNow();
        try
        {
            while (!stopClaiming.IsCancellationRequested)
            {
                running.RemoveAll(t => t.IsCompleted);
                var claimedAny = false;
                while (running.Count < settings.Slots && !stopClaiming.IsCancellationRequested)
                {
                    var claimed = await ClaimSafelyAsync(request, stopClaiming);
                    if (claimed is null)
                    {
                        break;
                    }

                    claimedAny = true;
                    running.Add(RunAndWakeAsync(claimed, abortRuns.Token));
                }

                Idle = !claimedAny && running.Count == 0;
                RoundCompleted?.Invoke();

                if (clock.GetUtcNow() - lastNodeHeartbeat >= settings.HeartbeatInterval)
                {
                    await HeartbeatNodeSafelyAsync();
                    lastNodeHeartbeat = clock.GetUtcNow();
                }

                // A finished run, an import, a retry or a NOTIFY sets the signal; the poll interval is the fallback.
                await wake.WaitAsync(settings.PollInterval, clock, stopClaiming);
            }
        }
        catch (OperationCanceledException) when (stopClaiming.IsCancellationRequested)
        {
        }

        await DrainAsync(abortRuns);
        await store.MarkNodeOfflineAsync(settings.Node, WorkerId, CancellationToken.None);
        LogWorkerStopped(settings.Node, WorkerId);
    }

    private async Task RunAndWakeAsync(ClaimedTask claimed, CancellationToken abort)
    {
        try
        {
            await runner.RunAsync(claimed, abort);
        }
        finally
        {
            wake.Set();
        }
    }

    private async Task DrainAsync(CancellationTokenSource abortRuns)
    {
        running.RemoveAll(t => t.IsCompleted);
        if (running.Count == 0)
        {
            return;
        }

        LogDraining(running.Count, settings.DrainWindow.TotalSeconds);
        var all = Task.WhenAll(running);
        await Task.WhenAny(all, Task.Delay(settings.DrainWindow, clock));
        if (!all.IsCompleted)
        {
            abortRuns.Cancel();
            await all;
        }
    }

    private async Task<ClaimedTask?> ClaimSafelyAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var started = clock.GetTimestamp();
            var claimed = await store.ClaimAsync(request, cancellationToken);
            claimErrors.Succeeded();
            metrics?.ObserveClaim(clock.GetElapsedTime(started));
            if (claimed is not null)
            {
                metrics?.CountTransition("claimed");
            }

            return claimed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            claimErrors.Failed(ex);
            return null;
        }
    }

    private async Task HeartbeatNodeSafelyAsync()
    {
        try
        {
            running.RemoveAll(t => t.IsCompleted);
            await store.HeartbeatNodeAsync(settings.Node, WorkerId, running.Count, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogNodeHeartbeatFailed(ex, settings.Node);
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Worker {WorkerId} started on node {Node} with {Slots} slots")]
    private partial void LogWorkerStarted(string node, string workerId, int slots);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Worker {WorkerId} stopped on node {Node}")]
    private partial void LogWorkerStopped(string node, string workerId);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Draining {Count} running tasks for up to {Seconds} s")]
    private partial void LogDraining(int count, double seconds);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Node heartbeat failed on node {Node}")]
    private partial void LogNodeHeartbeatFailed(Exception exception, string node);
}
