using System.Net;
using System.Text.Json;
using Dispatch.Daemons;
using Dispatch.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Health;

/// <summary>
/// Serves <c>GET /health</c> (JSON, 200 or 503) and <c>GET /metrics</c>
/// (Prometheus text) for the loops of one process, on HttpListener so the
/// runtime image needs no web framework. A port already in use is logged as a
/// warning and the daemon keeps working without the endpoint.
/// </summary>
public sealed partial class HealthServer(
    string service, int port, IReadOnlyList<DaemonStatus> loops, DispatchMetrics metrics, IDispatchStore? store, TimeProvider clock, ILogger logger)
    : BackgroundService
{
    private readonly DateTimeOffset started = clock.GetUtcNow();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://*:{port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException ex)
        {
            LogPortUnavailable(port, ex.Message);
            return;
        }

        LogListening(service, port);
        using var registration = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            _ = Task.Run(() => RespondAsync(context, stoppingToken), CancellationToken.None);
        }
    }

    private async Task RespondAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            switch (context.Request.Url?.AbsolutePath)
            {
                case "/health":
                    var (healthy, body) = Health();
                    response.StatusCode = healthy ? 200 : 503;
                    response.ContentType = "application/json";
                    await response.OutputStream.WriteAsync(body, cancellationToken);
                    break;
                case "/metrics":
                    await metrics.RefreshAsync(loops, store, cancellationToken);
                    response.StatusCode = 200;
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await metrics.WriteAsync(response.OutputStream, cancellationToken);
                    break;
                default:
                    response.StatusCode = 404;
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the server is stopping, so there is nobody to respond to.
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Builds the /health document; unhealthy when any loop is.</summary>
    public (bool Healthy, byte[] Body) Health()
    {
        var snapshots = loops.Select(l => l.Snapshot()).ToList();
        var healthy = snapshots.All(s => s.Healthy);
        var database = snapshots.Select(s => s.Database).FirstOrDefault(d => d != "ok") ?? "ok";
        var document = new Dictionary<string, object?>
        {
            ["status"] = healthy ? "healthy" : "unhealthy",
            ["service"] = service,
            ["version"] = VersionInfo.Version,
            ["pid"] = Environment.ProcessId,
            ["uptime_seconds"] = Math.Round((clock.GetUtcNow() - started).TotalSeconds, 1),
            ["last_cycle_age_seconds"] = snapshots.Count == 0 ? null : snapshots.Max(s => Math.Round((s.LastPassAge ?? s.Uptime).TotalSeconds, 1)),
            ["cycle_count"] = snapshots.Sum(s => s.PassCount),
            ["database"] = database,
            ["loops"] = snapshots.Select(s => new
            {
                service = s.Service,
                status = s.Healthy ? "healthy" : "unhealthy",
                last_cycle_age_seconds = s.LastPassAge is null ? (double?)null : Math.Round(s.LastPassAge.Value.TotalSeconds, 1),
                cycle_count = s.PassCount,
                failed_cycles = s.FailedPassCount,
                last_error = s.LastError,
            }),
        };
        return (healthy, JsonSerializer.SerializeToUtf8Bytes(document, new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
    }

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "Health port {Port} is not available ({Error}); the daemon keeps working without /health and /metrics")]
    private partial void LogPortUnavailable(int port, string error);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "{Service} serves /health and /metrics on port {Port}")]
    private partial void LogListening(string service, int port);
}
