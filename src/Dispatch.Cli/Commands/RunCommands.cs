using System.CommandLine;
using Dispatch.Configuration;
using Dispatch.Executors;
using Dispatch.Scheduling;
using Dispatch.Storage;
using Dispatch.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Cli.Commands;

/// <summary><c>worker</c> and <c>up</c>: the long-running commands.</summary>
internal static class RunCommands
{
    public static Command Worker(CliContext context)
    {
        var node = NodeOption();
        var slots = SlotsOption(1);
        var demo = DemoOption();
        var command = new Command("worker", "Run tasks from the store on this machine until stopped (SIGTERM or Ctrl+C drains, then hands back)")
        {
            node, slots, demo,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var options = PrepareOptions(context, parse.GetValue(demo));
            var settings = Settings(parse.GetValue(node)!, parse.GetValue(slots), options);
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var builder = HostFactory.Create(context, options, LogLevel.Information);
            DaemonHosting.AddShared(builder, store);
            AddWorker(builder, settings);
            using var host = builder.Build();
            await host.RunAsync(CancellationToken.None);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Up(CliContext context)
    {
        var specs = new Option<string>("--specs") { Description = "Specs folder: one project per sub-folder (or a single project folder)", Required = true };
        var node = NodeOption();
        var slots = SlotsOption(4);
        var demo = DemoOption();
        var port = new Option<int>("--port") { Description = "Port of /health and /metrics", DefaultValueFactory = _ => 8090 };
        var keepRunning = new Option<bool>("--keep-running") { Description = "Do not exit when every task has finished; wait for more work until interrupted" };
        var command = new Command("up", "Import a specs folder and run everything in this process until done or interrupted (SQLite ./dispatch.db by default)")
        {
            specs, node, slots, demo, port, keepRunning,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var options = PrepareOptions(context, parse.GetValue(demo));
            var settings = Settings(parse.GetValue(node)!, parse.GetValue(slots), options);
            var healthPort = DaemonHosting.CheckPort(parse.GetValue(port));
            var directory = parse.GetValue(specs)!;
            var asRoot = SpecSource.LooksLikeRoot(directory);
            var loaded = SpecSource.Load(directory, null, asRoot);

            await using var store = await context.OpenStoreAsync(cancellationToken);
            context.Out.WriteLine($"dispatch up: store {store.Target.Display}, node {settings.Node}, {settings.Slots} slots{(parse.GetValue(demo) ? ", demo executor" : "")}");
            var summary = await store.ImportAsync(loaded.Specs, new ImportDefaults(options.DefaultExecutor, options.MaxRetries), cancellationToken);
            ImportCommands.WriteSummary(context, loaded, summary, json: false);

            // The factory watches the same folder (recording rejected files as events), the
            // reaper retries and dead-letters, the guardian blocks what can no longer run.
            // Failed attempts are routine here and the progress line shows them: log errors only, unless configured.
            var builder = HostFactory.Create(context, options, LogLevel.Error);
            builder.Logging.AddFilter("Dispatch.Health", LogLevel.Warning);
            DaemonHosting.AddShared(builder, store);
            AddWorker(builder, settings);
            DaemonHosting.AddDaemons(builder, context, options,
                [DaemonHosting.Factory, DaemonHosting.Reaper, DaemonHosting.Guardian], asRoot ? directory : "", singleNode: true);
            DaemonHosting.AddHealth(builder, "up", healthPort);
            var exitWhenDone = !parse.GetValue(keepRunning);
            builder.Services.AddSingleton(services => new UpProgress(
                store, services.GetRequiredService<Worker>(), context.Out, exitWhenDone,
                services.GetRequiredService<IHostApplicationLifetime>(), TimeProvider.System, options.DrainSeconds));
            builder.Services.AddHostedService(services => services.GetRequiredService<UpProgress>());
            using var host = builder.Build();
            var progress = host.Services.GetRequiredService<UpProgress>();
            await host.RunAsync(CancellationToken.None);
            return await progress.WriteFinalReportAsync();
        }));
        return command;
    }

    private static DispatchOptions PrepareOptions(CliContext context, bool demo)
    {
        var options = context.LoadOptions();
        if (demo)
        {
            options.Executors[ExecutorCatalog.Wildcard] = DemoExecutor.Install(options.DataDir);
        }

        if (options.Executors.Count == 0)
        {
            throw new CliException(
                "no executors are configured: add an \"Executors\" section to dispatch.json (see examples/dispatch.example.json), " +
                "or pass --demo to run the shipped demo agent for every executor name.");
        }

        return options;
    }

    private static WorkerSettings Settings(string node, int slots, DispatchOptions options)
    {
        if (slots < 1)
        {
            throw new CliException($"--slots {slots} is not valid: use 1 or more.", ExitCodes.Usage);
        }

        if (string.IsNullOrWhiteSpace(node))
        {
            throw new CliException("--node is empty: give this machine a name.", ExitCodes.Usage);
        }

        return new WorkerSettings(node.Trim(), slots, new ExecutorCatalog(options.Executors), options);
    }

    private static void AddWorker(HostApplicationBuilder builder, WorkerSettings settings)
    {
        builder.Services.AddSingleton(services => new Worker(
            services.GetRequiredService<IDispatchStore>(), settings, services.GetRequiredService<WakeSignal>(), TimeProvider.System,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Dispatch.Worker"), services.GetRequiredService<Health.DispatchMetrics>()));
        builder.Services.AddHostedService(services => new WorkerService(services.GetRequiredService<Worker>()));
    }

    private static Option<string> NodeOption() => new("--node")
    {
        Description = "Name of this machine in the store (default: the host name)",
        DefaultValueFactory = _ => Environment.MachineName,
    };

    private static Option<int> SlotsOption(int defaultSlots) => new("--slots")
    {
        Description = "Tasks run at once on this worker",
        DefaultValueFactory = _ => defaultSlots,
    };

    private static Option<bool> DemoOption() => new("--demo")
    {
        Description = "Serve every executor name with the shipped demo agent (no real agent needed)",
    };
}
