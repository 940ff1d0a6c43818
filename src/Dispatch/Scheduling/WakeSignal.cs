namespace Dispatch.Scheduling;

/// <summary>
/// An auto-reset wake-up: <see cref="Set"/> releases one pending or the next
/// <see cref="WaitAsync"/>; repeated sets before a wait collapse into one.
/// Loops wait on it with a timeout, so polling remains the fallback.
/// </summary>
public sealed class WakeSignal
{
    private readonly SemaphoreSlim semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up covers every change since the last wait.
        }
    }

    /// <summary>Waits for a signal or the timeout; returns true when signalled.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        try
        {
            await semaphore.WaitAsync(linked.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
