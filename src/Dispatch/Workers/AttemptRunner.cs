using System.Globalization;
using Dispatch.Executors;
using Dispatch.Health;
using Dispatch.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Workers;

/// <summary>
/// Runs one claimed attempt: prepares its directory, starts the executor,
/// heartbeats the lease while it runs, and writes the result fenced on the
/// lease. A lost lease kills the executor and discards its result.
/// </summary>
public sealed partial class AttemptRunner(IDispatchStore store, WorkerSettings settings, TimeProvider clock, ILogger logger, DispatchMetrics? metrics = null)
{
    /// <summary>How long the final result write may take; it does not use the stopping token, so shutdown cannot lose it.</summary>
    private static readonly TimeSpan ResultWriteTimeout = TimeSpan.FromSeconds(30);

    public async Task RunAsync(ClaimedTask claimed, CancellationToken abort)
    {
        var lease = claimed.Lease;
        try
        {
            await RunClaimedAsync(claimed, abort);
        }
        catch (Exception ex)
        {
            // Anything unexpected still ends the attempt, so the task is not left to lease expiry.
            LogAttemptCrashed(ex, lease.Key.ToString(), lease.Attempt);
            await FinishAsync(lease, new RunResult(false, null, $"worker error: {ex.Message}", null));
        }
    }

    private async Task RunClaimedAsync(ClaimedTask claimed, CancellationToken abort)
    {
        var lease = claimed.Lease;
        var definition = settings.Executors.Find(claimed.Executor);
        if (definition is null)
        {
            await FinishAsync(lease, new RunResult(false, null, $"executor \"{claimed.Executor}\" is not configured on node {lease.Node}", null));
            return;
        }

        var attemptDirectory = Path.GetFullPath(Path.Combine(
            settings.Options.DataDir, "runs", lease.Key.Project, lease.Key.TaskId, "attempt-" + lease.Attempt.ToString(CultureInfo.InvariantCulture)));

        // A run handed back at shutdown gives its attempt number back; keep its folder and log instead of overwriting them.
        for (var rerun = 2; Directory.Exists(attemptDirectory); rerun++)
        {
            attemptDirectory = Path.GetFullPath(Path.Combine(
                settings.Options.DataDir, "runs", lease.Key.Project, lease.Key.TaskId,
                $"attempt-{lease.Attempt.ToString(CultureInfo.InvariantCulture)}.{rerun.ToString(CultureInfo.InvariantCulture)}"));
        }
        var workDirectory = Path.Combine(attemptDirectory, "work");
        Directory.CreateDirectory(workDirectory);
        var specFile = Path.Combine(attemptDirectory, "spec.md");
        await File.WriteAllTextAsync(specFile, claimed.SpecContent, CancellationToken.None);
        var logPath = Path.Combine(attemptDirectory, "output.log");

        if (!await store.MarkRunningAsync(lease, logPath, CancellationToken.None))
        {
            LogLeaseLost(lease.Key.ToString(), lease.Attempt, "before start");
            return;
        }

        LogAttemptStarted(lease.Key.ToString(), lease.Attempt, claimed.Executor);
        using var leaseLost = new CancellationTokenSource();
        using var runAbort = CancellationTokenSource.CreateLinkedTokenSource(abort, leaseLost.Token);
        using var stopHeartbeat = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(lease, leaseLost, stopHeartbeat.Token);

        var runStarted = clock.GetTimestamp();
        var environment = BuildEnvironment(claimed, specFile, workDirectory, definition);
        var command = definition.Command.Select(part => Expand(part, claimed, specFile, workDirectory)).ToList();
        var outcome = await ExecutorProcess.RunAsync(
            new ProcessLaunch(
                command, workDirectory, environment,
                definition.Prompt == "stdin" ? SpecBody(claimed.SpecContent) : null,
                logPath, settings.Options.LogMaxBytes, claimed.Timeout, settings.KillGrace),
            runAbort.Token);

        await stopHeartbeat.CancelAsync();
        await heartbeat;
        var runDuration = clock.GetElapsedTime(runStarted);

        if (leaseLost.IsCancellationRequested)
        {
            LogLeaseLost(lease.Key.ToString(), lease.Attempt, "while running; result discarded");
            return;
        }

        if (outcome.Aborted)
        {
            using var timeout = new CancellationTokenSource(ResultWriteTimeout);
            var released = await store.ReleaseAsync(lease, "worker stopping: run interrupted and handed back", timeout.Token);
            LogAttemptReleased(lease.Key.ToString(), lease.Attempt, released);
            metrics?.CountTransition("released");
            return;
        }

        var result = outcome switch
        {
            { StartError: string error } => new RunResult(false, null, error, logPath),
            { TimedOut: true } => new RunResult(false, outcome.ExitCode, $"timed out after {claimed.Timeout.TotalMinutes:0.#} min", logPath),
            { ExitCode: 0 } => new RunResult(true, 0, null, logPath),
            { ExitCode: 127 } => new RunResult(false, 127,
                $"exit code 127: a command was not found, either \"{command[0]}\" itself (fix Executors:{claimed.Executor}:Command) or one it ran; see 'dispatch logs'", logPath),
            _ => new RunResult(false, outcome.ExitCode, $"executor exited with code {outcome.ExitCode}", logPath),
        };
        metrics?.ObserveRun(result.Succeeded ? "completed" : "failed", runDuration);
        await FinishAsync(lease, result);
    }

    private async Task FinishAsync(Lease lease, RunResult result)
    {
        using var timeout = new CancellationTokenSource(ResultWriteTimeout);
        var written = await store.FinishAsync(lease, result, timeout.Token);
        if (!written)
        {
            LogLeaseLost(lease.Key.ToString(), lease.Attempt, "at finish; result discarded");
        }
        else if (result.Succeeded)
        {
            metrics?.CountTransition("completed");
            LogAttemptCompleted(lease.Key.ToString(), lease.Attempt);
        }
        else
        {
            metrics?.CountTransition("failed");
            LogAttemptFailed(lease.Key.ToString(), lease.Attempt, result.Error ?? "unknown error");
        }
    }

    /// <summary>Extends the lease every quarter of its length; a refused heartbeat cancels the run.</summary>
    private async Task HeartbeatAsync(Lease lease, CancellationTokenSource leaseLost, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.HeartbeatInterval, clock, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (!await store.HeartbeatAsync(lease, settings.LeaseTtl, CancellationToken.None))
                {
                    await leaseLost.CancelAsync();
                    return;
                }
            }
            catch (Exception ex)
            {
                // A failed heartbeat is not a lost lease: the next one may succeed before expiry.
                LogHeartbeatFailed(ex, lease.Key.ToString(), lease.Attempt);
            }
        }
    }

    private static Dictionary<string, string> BuildEnvironment(ClaimedTask claimed, string specFile, string workDirectory, ExecutorDefinition definition)
    {
        var lease = claimed.Lease;
        var environment = new Dictionary<string, string>(definition.Environment)
        {
            ["DISPATCH_TASK_ID"] = lease.Key.TaskId,
            ["DISPATCH_PROJECT"] = lease.Key.Project,
            ["DISPATCH_ATTEMPT"] = lease.Attempt.ToString(CultureInfo.InvariantCulture),
            ["DISPATCH_SPEC_FILE"] = specFile,
            ["DISPATCH_WORKDIR"] = workDirectory,
            ["DISPATCH_NODE"] = lease.Node,
            ["DISPATCH_EXECUTOR"] = claimed.Executor,
            ["DISPATCH_MODIFIES"] = string.Join('\n', claimed.Modifies),

            // The executor has no business with the database; its location may carry a password.
            ["DISPATCH_DB_URL"] = "",
        };
        return environment;
    }

    private static string Expand(string part, ClaimedTask claimed, string specFile, string workDirectory) => part
        .Replace("{spec_file}", specFile, StringComparison.Ordinal)
        .Replace("{workdir}", workDirectory, StringComparison.Ordinal)
        .Replace("{task_id}", claimed.Lease.Key.TaskId, StringComparison.Ordinal)
        .Replace("{project}", claimed.Lease.Key.Project, StringComparison.Ordinal)
        .Replace("{attempt}", claimed.Lease.Attempt.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{prompt}", SpecBody(claimed.SpecContent), StringComparison.Ordinal);

    /// <summary>Returns the Markdown body after the front-matter, the part written for the agent.</summary>
    internal static string SpecBody(string content)
    {
        var lines = content.Replace("\r\n", "\n").Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd() != "---")
        {
            return content;
        }

        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() == "---")
            {
                return string.Join('\n', lines.Skip(i + 1)).TrimStart('\n');
            }
        }

        return content;
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Task {TaskKey} attempt {Attempt} started with executor {Executor}")]
    private partial void LogAttemptStarted(string taskKey, int attempt, string executor);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Task {TaskKey} attempt {Attempt} completed")]
    private partial void LogAttemptCompleted(string taskKey, int attempt);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Task {TaskKey} attempt {Attempt} failed: {Reason}")]
    private partial void LogAttemptFailed(string taskKey, int attempt, string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Task {TaskKey} attempt {Attempt}: lease lost {When}")]
    private partial void LogLeaseLost(string taskKey, int attempt, string when);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Task {TaskKey} attempt {Attempt} handed back to pending (written: {Released})")]
    private partial void LogAttemptReleased(string taskKey, int attempt, bool released);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Heartbeat failed for task {TaskKey} attempt {Attempt}")]
    private partial void LogHeartbeatFailed(Exception exception, string taskKey, int attempt);

    [LoggerMessage(EventId = 206, Level = LogLevel.Error, Message = "Task {TaskKey} attempt {Attempt} ended by a worker error")]
    private partial void LogAttemptCrashed(Exception exception, string taskKey, int attempt);
}
