using System.Diagnostics;

namespace Dispatch.Executors;

/// <summary>What the worker hands to one executor run.</summary>
public sealed record ProcessLaunch(
    IReadOnlyList<string> Command,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    string? StandardInput,
    string LogPath,
    long LogMaxBytes,
    TimeSpan Timeout,
    TimeSpan KillGrace);

/// <summary>How a run ended. <see cref="ExitCode"/> is null when the process could not start.</summary>
public sealed record ProcessOutcome(int? ExitCode, bool TimedOut, bool Aborted, string? StartError);

/// <summary>
/// Runs an executor in its own session and process group (through
/// <c>setsid</c>), streams its output to a capped log, and on timeout or abort
/// sends SIGTERM to the whole group, waits the grace period, then sends SIGKILL.
/// </summary>
public static class ExecutorProcess
{
    /// <summary>
    /// Runs the executor under a guard that kills the whole process group when
    /// the worker process disappears (SIGKILL, a crash), so an orphaned run can
    /// never overlap the attempt that replaces it after lease expiry. The guard
    /// polls every half second, well inside any lease. The explicit <c>&lt;&amp;0</c>
    /// keeps the prompt on standard input for the background command.
    /// </summary>
    private const string OrphanGuard = """
        "$@" <&0 &
        child=$!
        ( while kill -0 "$DISPATCH_WORKER_PID" 2>/dev/null; do sleep 0.5; done; kill -KILL 0 ) &
        guard=$!
        wait "$child"
        code=$?
        kill "$guard" 2>/dev/null
        exit "$code"
        """;

    public static async Task<ProcessOutcome> RunAsync(ProcessLaunch launch, CancellationToken abort)
    {
        var startInfo = new ProcessStartInfo("setsid")
        {
            ArgumentList = { "bash", "-c", OrphanGuard, "dispatch-run" },
            WorkingDirectory = launch.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in launch.Command)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in launch.Environment)
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["DISPATCH_WORKER_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var log = new CappedLog(launch.LogPath, launch.LogMaxBytes);
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.WriteLine(e.Data); };

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            log.WriteLine($"[dispatch: cannot start setsid and bash: {ex.Message}]");
            return new ProcessOutcome(null, false, false, $"cannot start the executor (setsid and bash are required): {ex.Message}");
        }

        // setsid execs bash in place (the child is not a group leader), so the
        // process id is also the id of the new process group the executor runs in.
        var groupId = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await WriteInputAsync(process, launch.StandardInput);

        using var timeout = new CancellationTokenSource(launch.Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, abort);
        try
        {
            await process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            await TerminateAsync(process, groupId, launch.KillGrace);
            log.WriteLine(timeout.IsCancellationRequested
                ? $"[dispatch: timed out after {launch.Timeout.TotalMinutes:0.#} min, process group killed]"
                : "[dispatch: run aborted, process group killed]");
            return new ProcessOutcome(SafeExitCode(process), timeout.IsCancellationRequested, !timeout.IsCancellationRequested, null);
        }

        // Children that outlive the leader still belong to the run: end them too.
        ProcessGroup.Signal(groupId, ProcessGroup.SigKill);
        process.WaitForExit();
        return new ProcessOutcome(process.ExitCode, false, false, null);
    }

    private static async Task WriteInputAsync(Process process, string? input)
    {
        try
        {
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The executor exited or closed its input without reading: not an error of the run.
        }
    }

    private static async Task TerminateAsync(Process process, int groupId, TimeSpan grace)
    {
        ProcessGroup.Signal(groupId, ProcessGroup.SigTerm);
        using var graceTimer = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(graceTimer.Token);
        }
        catch (OperationCanceledException)
        {
        }

        ProcessGroup.Signal(groupId, ProcessGroup.SigKill);
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }

        await process.WaitForExitAsync(CancellationToken.None);
    }

    private static int? SafeExitCode(Process process)
    {
        try
        {
            return process.HasExited ? process.ExitCode : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
