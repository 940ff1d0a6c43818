using Dispatch.Configuration;
using Dispatch.Daemons;
using Dispatch.Health;
using Dispatch.Scheduling;
using Dispatch.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Cli.Commands;

/// <summary>Registers daemon loops, the health server and the PostgreSQL wake-up listener in a host.</summary>
internal static class DaemonHosting
{
    public const string Guardian = "guardian";
    public const string Reaper = "reaper";
    public const string Factory = "factory";

    public static readonly IReadOnlyDictionary<string, int> DefaultPorts = new Dictionary<string, int>
    {
        ["up"] = 8090,
        [Guardian] = 8091,
        [Reaper] = 8092,
        [Factory] = 8093,
    };

    /// <summary>Adds the shared pieces: store, wake signal, metrics and (on PostgreSQL) the LISTEN connection.</summary>
    public static (WakeSignal Wake, DispatchMetrics Metrics) AddShared(HostApplicationBuilder builder, SqlStore store)
    {
        var wake = new WakeSignal();
        var metrics = new DispatchMetrics();
        store.TaskReleased += wake.Set;
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IDispatchStore>(store);
        builder.Services.AddSingleton(wake);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<IHostedService>(services =>
            store.CreateWakeListener(wake, services.GetRequiredService<ILoggerFactory>().CreateLogger("Dispatch.Wake")) ?? new NoService());
        return (wake, metrics);
    }

    /// <param name="singleNode">
    /// True inside <c>dispatch up</c>: quarantine is off unless configured, because
    /// quarantining the only node would stop all work instead of routing around it.
    /// </param>
    public static void AddDaemons(HostApplicationBuilder builder, CliContext context, DispatchOptions options, IEnumerable<string> names, string? specsDirectory, bool singleNode = false)
    {
        var configuration = context.Configuration;
        var hangFile = configuration["Testing:HangFile"];
        foreach (var name in names)
        {
            var loopOptions = new DaemonOptions();
            configuration.GetSection($"Daemons:{name}").Bind(loopOptions);
            var problems = loopOptions.Validate(name);
            if (problems.Count > 0)
            {
                throw new CliException("invalid configuration:\n  " + string.Join("\n  ", problems));
            }

            builder.Services.AddSingleton<DaemonLoop>(services =>
            {
                var store = services.GetRequiredService<SqlStore>();
                var wake = services.GetRequiredService<WakeSignal>();
                var clock = services.GetRequiredService<TimeProvider>();
                var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger($"Dispatch.{char.ToUpperInvariant(name[0])}{name[1..]}");
                DaemonLoop loop = name switch
                {
                    Guardian => new Daemons.Guardian(store, loopOptions, GuardianSettings(configuration, singleNode), options.DataDir, clock, logger, wake, hangFile),
                    Reaper => new Daemons.Reaper(store, loopOptions, Bind<ReaperOptions>(configuration, "Reaper"), options.DataDir, clock, logger, wake, hangFile),
                    _ => new Daemons.Factory(store, loopOptions, FactorySettings(configuration, specsDirectory),
                        new ImportDefaults(options.DefaultExecutor, options.MaxRetries), clock, logger, wake, hangFile),
                };
                var metrics = services.GetRequiredService<DispatchMetrics>();
                loop.PassCompleted += (completed, result) => metrics.RecordPass(completed.Service, result);
                return loop;
            });
        }

        builder.Services.AddHostedService(services => new LoopGroup(services.GetServices<DaemonLoop>().ToList()));
    }

    /// <summary>Rejects a port outside 1–65535 as a usage error.</summary>
    public static int CheckPort(int port) =>
        port is >= 1 and <= 65535 ? port : throw new CliException($"--port {port} is not valid: use a TCP port from 1 to 65535.", ExitCodes.Usage);

    public static void AddHealth(HostApplicationBuilder builder, string service, int port) =>
        builder.Services.AddHostedService(services => new HealthServer(
            service, port, services.GetServices<DaemonLoop>().Select(l => l.Status).ToList(), services.GetRequiredService<DispatchMetrics>(),
            services.GetRequiredService<IDispatchStore>(), services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Dispatch.Health")));

    private static GuardianOptions GuardianSettings(IConfiguration configuration, bool singleNode)
    {
        var guardian = Bind<GuardianOptions>(configuration, "Guardian");
        if (singleNode && configuration["Guardian:QuarantineAfterFailures"] is null)
        {
            guardian.QuarantineAfterFailures = 0;
        }

        return guardian;
    }

    private static FactoryOptions FactorySettings(IConfiguration configuration, string? specsDirectory)
    {
        var factory = Bind<FactoryOptions>(configuration, "Factory");
        if (specsDirectory is null && factory.SpecsDir is null && configuration["SPECS_DIR"] is null)
        {
            Console.Error.WriteLine("warning: the factory has no specs folder to watch: pass --specs DIR or set DISPATCH_SPECS_DIR (generators still run)");
        }

        // An empty folder name (dispatch up on a single project folder) turns the factory's scan off.
        factory.SpecsDir = specsDirectory ?? factory.SpecsDir ?? configuration["SPECS_DIR"];
        return factory;
    }

    private static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        var value = new T();
        configuration.GetSection(section).Bind(value);
        return value;
    }

    /// <summary>Runs several loops as one hosted service, so their start and stop follow the host together.</summary>
    private sealed class LoopGroup(IReadOnlyList<DaemonLoop> loops) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.WhenAll(loops.Select(l => l.StartAsync(cancellationToken)));

        public Task StopAsync(CancellationToken cancellationToken) => Task.WhenAll(loops.Select(l => l.StopAsync(cancellationToken)));
    }

    private sealed class NoService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
