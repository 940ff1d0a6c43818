using Microsoft.Extensions.Logging;

namespace Dispatch.Daemons;

/// <summary>
/// Rate-limits the logging of an error that repeats on every pass: the first
/// failure is a warning, the third in a row an error, then at most one
/// reminder per <c>reminderInterval</c>, and one line when passes succeed again.
/// </summary>
public sealed partial class RepeatedErrorLog(ILogger logger, string service, TimeProvider clock, TimeSpan reminderInterval)
{
    private const int ErrorThreshold = 3;
    private int consecutive;
    private DateTimeOffset lastLogged;
    private DateTimeOffset firstFailure;

    public void Failed(Exception exception)
    {
        consecutive++;
        var now = clock.GetUtcNow();
        if (consecutive == 1)
        {
            firstFailure = now;
            lastLogged = now;
            LogFirstFailure(exception, service);
        }
        else if (consecutive == ErrorThreshold || (consecutive > ErrorThreshold && now - lastLogged >= reminderInterval))
        {
            lastLogged = now;
            LogStillFailing(exception, service, consecutive, (now - firstFailure).TotalSeconds);
        }
    }

    public void Succeeded()
    {
        if (consecutive > 0)
        {
            LogRecovered(service, consecutive, (clock.GetUtcNow() - firstFailure).TotalSeconds);
            consecutive = 0;
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "{Service} pass failed")]
    private partial void LogFirstFailure(Exception exception, string service);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "{Service} passes keep failing: {Failures} in a row over {Seconds:0} s")]
    private partial void LogStillFailing(Exception exception, string service, int failures, double seconds);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "{Service} recovered after {Failures} failed passes over {Seconds:0} s")]
    private partial void LogRecovered(string service, int failures, double seconds);
}
