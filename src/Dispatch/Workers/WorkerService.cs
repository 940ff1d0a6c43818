using Microsoft.Extensions.Hosting;

namespace Dispatch.Workers;

/// <summary>Hosts a <see cref="Worker"/>: the host's stopping token starts its drain.</summary>
public sealed class WorkerService(Worker worker) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => worker.RunAsync(stoppingToken);
}
