using Dispatch.Storage;

namespace Dispatch.Cli.Commands;

/// <summary>
/// Opens the store for a daemon, retrying while the database is unreachable:
/// after an engine restart containers start in any order, so a daemon may come
/// up before PostgreSQL accepts connections.
/// </summary>
internal static class StartupRetry
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);

    public static async Task<SqlStore> OpenStoreAsync(CliContext context, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + MaxWait;
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return await context.OpenStoreAsync(cancellationToken);
            }
            catch (StoreUnavailableException ex) when (DateTimeOffset.UtcNow + delay < deadline)
            {
                context.Error.WriteLine($"waiting for the database: {ex.Message}; retrying in {delay.TotalSeconds:0} s");
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 10));
            }
        }
    }
}
