using Dispatch.Scheduling;
using Dispatch.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Daemons;

/// <summary>
/// The loop every daemon shares: after a random start-up delay it runs one
/// pass, waits for the interval or a wake-up, and repeats, so passes never
/// overlap. Each pass reports to the <see cref="DaemonStatus"/> behind
/// /health. A watchdog ends the process when one pass has run for twice the
/// unhealthy threshold (exit code 70), because Docker restarts a container only when its process exits.
/// </summary>
public abstract partial class DaemonLoop : BackgroundService
{
    private readonly DaemonOptions options;
    private readonly TimeProvider clock;
    private readonly WakeSignal? wake;
    private readonly string? hangFile;
    private readonly RepeatedErrorLog errors;
    private readonly ILogger logger;

    protected DaemonLoop(string service, DaemonOptions options, TimeProvider clock, ILogger logger, WakeSignal? wake, string? hangFile)
    {
        Service = service;
        this.options = options;
        this.clock = clock;
        this.wake = wake;
        this.hangFile = hangFile;
        this.logger = logger;
        Status = new DaemonStatus(service, TimeSpan.FromSeconds(options.UnhealthyAfterSeconds), clock);
        errors = new RepeatedErrorLog(logger, service, clock, TimeSpan.FromMinutes(1));
    }

    public string Service { get; }

    public DaemonStatus Status { get; }

    /// <summary>Runs one pass: a set of state-guarded statements, safe to run while a replica runs the same pass.</summary>
    public abstract Task<PassResult> RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>Raised after every pass with its result (null when it failed); tests and metrics listen.</summary>
    public event Action<DaemonLoop, PassResult?>? PassCompleted;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(Service, options.IntervalSeconds);
        using var watchdog = clock.CreateTimer(_ => CheckStuck(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(Random.Shared.NextDouble() * options.StartJitterSeconds), clock, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await RunPassAsync(stoppingToken);
                var interval = TimeSpan.FromSeconds(options.IntervalSeconds);
                if (wake is null)
                {
                    await Task.Delay(interval, clock, stoppingToken);
                }
                else
                {
                    await wake.WaitAsync(interval, clock, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        LogStopped(Service);
    }

    private async Task RunPassAsync(CancellationToken stoppingToken)
    {
        Status.PassStarting();
        try
        {
            if (hangFile is not null && File.Exists(hangFile))
            {
                // Test switch: a pass that never returns and ignores shutdown, like a real hang.
                LogHanging(Service, hangFile);
                await Task.Delay(Timeout.Infinite, CancellationToken.None);
            }

            var result = await RunOnceAsync(stoppingToken);
            Status.PassSucceeded();
            errors.Succeeded();
            if (result.DidAnything)
            {
                LogPass(Service, result.ToString());
            }

            PassCompleted?.Invoke(this, result);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            Status.PassFailed(DatabaseTarget.MaskForDisplay(ex.Message), IsDatabaseFailure(ex));
            errors.Failed(ex);
            PassCompleted?.Invoke(this, null);
        }
    }

    private static bool IsDatabaseFailure(Exception ex) =>
        ex is StoreUnavailableException or Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or TimeoutException
            or System.Net.Sockets.SocketException
        || ex.InnerException is not null && IsDatabaseFailure(ex.InnerException);

    private void CheckStuck()
    {
        var snapshot = Status.Snapshot();
        if (snapshot.CurrentPassRunningFor > 2 * Status.UnhealthyAfter)
        {
            LogStuck(Service, snapshot.CurrentPassRunningFor.TotalSeconds);

            // The console logger writes on its own thread: give it a moment before the process goes.
            Thread.Sleep(500);
            ImmediateExit.Now(ImmediateExit.StuckLoopExitCode);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "{Service} started; pass every {Interval} s")]
    private partial void LogStarted(string service, double interval);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Service} stopped")]
    private partial void LogStopped(string service);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "{Service} pass: {Result}")]
    private partial void LogPass(string service, string result);

    [LoggerMessage(EventId = 403, Level = LogLevel.Critical, Message = "{Service} pass stuck for {Seconds:0} s; exiting so the supervisor restarts the process")]
    private partial void LogStuck(string service, double seconds);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "{Service} pass hangs on purpose: test switch {HangFile} exists")]
    private partial void LogHanging(string service, string hangFile);
}
