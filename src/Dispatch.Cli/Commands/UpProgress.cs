using Dispatch.Storage;
using Dispatch.Workers;
using Microsoft.Extensions.Hosting;

namespace Dispatch.Cli.Commands;

/// <summary>
/// The live progress line of <c>dispatch up</c>, and the decision that the
/// work is done: nothing claimed or running, and the worker's last two claim
/// rounds found nothing to claim. Then it stops the host and prints a report.
/// </summary>
internal sealed class UpProgress(
    SqlStore store, Worker worker, TextWriter output, bool exitWhenDone, IHostApplicationLifetime lifetime, TimeProvider clock, double drainSeconds)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly bool interactive = !Console.IsOutputRedirected;
    private readonly DateTimeOffset started = clock.GetUtcNow();
    private string lastLine = "";
    private DateTimeOffset lastPrinted = DateTimeOffset.MinValue;
    private bool interrupted = true;
    private IReadOnlyList<string> unserved = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idleRounds = 0;
        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var totals = await TotalsAsync(stoppingToken);
                Print(totals);
                var inFlight = totals[TaskStates.Claimed] + totals[TaskStates.Running];
                var settled = inFlight == 0 && totals[TaskStates.Failed] == 0 && await store.CountDeferredAsync(stoppingToken) == 0;
                idleRounds = settled && worker.Idle ? idleRounds + 1 : 0;

                // Pending tasks left after several idle rounds wait on something no pass will change
                // (an executor that no worker offers). With none pending, two rounds are enough.
                var needed = totals[TaskStates.Pending] == 0 ? 2 : 5;
                if (exitWhenDone && idleRounds >= needed)
                {
                    // Read while this process's worker is still online; after the stop it no longer counts.
                    unserved = await store.ListUnservedExecutorsAsync(stoppingToken);
                    interrupted = false;
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            if (interrupted)
            {
                // The worker drains now; without a word the wait would look like a hang.
                output.WriteLine();
                output.WriteLine($"stopping: running tasks get up to {drainSeconds:0} s to finish, then go back to pending");
            }
        }
    }

    private async Task<Dictionary<string, long>> TotalsAsync(CancellationToken cancellationToken)
    {
        var counts = await store.CountByStateAsync(null, cancellationToken);
        return TaskStates.All.ToDictionary(s => s, s => counts.Where(c => c.State == s).Sum(c => c.Count));
    }

    private void Print(Dictionary<string, long> totals)
    {
        var total = totals.Values.Sum();
        var elapsed = clock.GetUtcNow() - started;
        var line = $"[{elapsed:hh\\:mm\\:ss}] completed {totals[TaskStates.Completed]}/{total}  running {totals[TaskStates.Running] + totals[TaskStates.Claimed]}  " +
                   $"pending {totals[TaskStates.Pending]}  blocked {totals[TaskStates.Blocked]}  failed {totals[TaskStates.Failed]}  " +
                   $"deadletter {totals[TaskStates.DeadLetter]}  cancelled {totals[TaskStates.Cancelled]}";
        if (interactive)
        {
            output.Write("\r" + line + "   ");
            output.Flush();
        }
        else
        {
            var counts = line[(line.IndexOf(']') + 1)..];
            if (counts != lastLine[(lastLine.IndexOf(']') + 1)..] || clock.GetUtcNow() - lastPrinted > TimeSpan.FromSeconds(30))
            {
                output.WriteLine(line);
                lastPrinted = clock.GetUtcNow();
            }
        }

        lastLine = line;
    }

    /// <summary>Prints the final counts, every blocked task with its reason and every failure; returns the exit code.</summary>
    public async Task<int> WriteFinalReportAsync()
    {
        var totals = await TotalsAsync(CancellationToken.None);
        if (interactive)
        {
            output.WriteLine();
        }

        var tasks = await store.ListTasksAsync(null, CancellationToken.None);
        foreach (var task in tasks.Where(t => t.State == TaskStates.Blocked))
        {
            output.WriteLine($"blocked     {task.Key}: {task.BlockedReason}");
        }

        foreach (var task in tasks.Where(t => t.State is TaskStates.Failed or TaskStates.DeadLetter))
        {
            output.WriteLine($"{task.State,-11} {task.Key}: {task.LastError}");
        }

        var waiting = tasks.Count(t => t.State == TaskStates.Pending);
        if (waiting > 0 && !interrupted)
        {
            foreach (var executor in unserved)
            {
                output.WriteLine($"unserved    executor \"{executor}\": pending tasks need it but no worker offers it (configure it, or pass --demo)");
            }
        }

        output.WriteLine(
            $"{(interrupted ? "interrupted" : "done")}: completed {totals[TaskStates.Completed]}, blocked {totals[TaskStates.Blocked]}, " +
            $"failed {totals[TaskStates.Failed]}, deadletter {totals[TaskStates.DeadLetter]}, cancelled {totals[TaskStates.Cancelled]}, " +
            $"pending {waiting}{(waiting > 0 && !interrupted ? " (never claimed: see above)" : "")}");
        if (interrupted)
        {
            return 130;
        }

        // Blocked tasks do not fail the run: their reasons are printed above and they wait for an operator.
        return totals[TaskStates.Failed] + totals[TaskStates.DeadLetter] + waiting > 0 ? ExitCodes.Failure : ExitCodes.Success;
    }
}
