using Dispatch.Scheduling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatch.Storage.Postgres;

/// <summary>
/// Holds one connection that LISTENs on the wake channel and sets the
/// <see cref="WakeSignal"/> on every NOTIFY, so loops react to a finished,
/// retried or imported task at once. When the connection drops it reconnects
/// with a growing delay; the loops' poll interval covers the gap.
/// </summary>
public sealed partial class PostgresWakeListener(NpgsqlDataSource dataSource, string channel, WakeSignal wake, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, _) => wake.Set();
                await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Something may have happened while no connection was listening.
                wake.Set();
                delay = TimeSpan.FromSeconds(1);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or System.Net.Sockets.SocketException)
            {
                LogListenFailed(channel, delay.TotalSeconds, ex.Message);
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "LISTEN {Channel} lost its connection; reconnecting in {Seconds} s: {Error}")]
    private partial void LogListenFailed(string channel, double seconds, string error);
}
