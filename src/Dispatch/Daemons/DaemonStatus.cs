namespace Dispatch.Daemons;

/// <summary>
/// The health of one loop as the health endpoint and the watchdog see it:
/// when the last pass succeeded, whether one is running and since when, and
/// whether the database was reachable. Written by the loop, read by other threads.
/// </summary>
public sealed class DaemonStatus(string service, TimeSpan unhealthyAfter, TimeProvider clock)
{
    private readonly object gate = new();
    private DateTimeOffset? lastSuccess;
    private DateTimeOffset? passStarted;
    private string? lastError;

    public string Service { get; } = service;

    public TimeSpan UnhealthyAfter { get; } = unhealthyAfter;

    public DateTimeOffset StartedAt { get; } = clock.GetUtcNow();

    public long PassCount { get; private set; }

    public long FailedPassCount { get; private set; }

    /// <summary>The last database error without secrets, or null while the database is reachable.</summary>
    public string? DatabaseError { get; private set; }

    public void PassStarting()
    {
        lock (gate)
        {
            passStarted = clock.GetUtcNow();
        }
    }

    public void PassSucceeded()
    {
        lock (gate)
        {
            PassCount++;
            lastSuccess = clock.GetUtcNow();
            passStarted = null;
            lastError = null;
            DatabaseError = null;
        }
    }

    public void PassFailed(string error, bool databaseUnreachable)
    {
        lock (gate)
        {
            PassCount++;
            FailedPassCount++;
            passStarted = null;
            lastError = error;
            if (databaseUnreachable)
            {
                DatabaseError = error;
            }
        }
    }

    public HealthSnapshot Snapshot()
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            var reference = lastSuccess ?? StartedAt;
            var age = now - reference;
            var healthy = DatabaseError is null && age <= UnhealthyAfter;
            var stuckFor = passStarted is DateTimeOffset started ? now - started : TimeSpan.Zero;
            return new HealthSnapshot(Service, healthy, now - StartedAt, lastSuccess is null ? null : age, PassCount, FailedPassCount,
                DatabaseError ?? "ok", lastError, stuckFor);
        }
    }
}

/// <summary>One reading of a <see cref="DaemonStatus"/>.</summary>
public sealed record HealthSnapshot(
    string Service,
    bool Healthy,
    TimeSpan Uptime,
    TimeSpan? LastPassAge,
    long PassCount,
    long FailedPassCount,
    string Database,
    string? LastError,
    TimeSpan CurrentPassRunningFor);
