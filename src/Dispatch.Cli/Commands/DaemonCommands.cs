using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Cli.Commands;

/// <summary><c>guardian</c>, <c>reaper</c>, <c>factory</c> and <c>healthcheck</c>.</summary>
internal static class DaemonCommands
{
    public static Command Create(CliContext context, string name, string description)
    {
        var port = new Option<int>("--port")
        {
            Description = "Port of /health and /metrics",
            DefaultValueFactory = _ => DaemonHosting.DefaultPorts[name],
        };
        var specs = new Option<string?>("--specs") { Description = "Specs folder to watch, one project per sub-folder (default: DISPATCH_SPECS_DIR)" };
        var command = new Command(name, description) { port };
        if (name == DaemonHosting.Factory)
        {
            command.Options.Add(specs);
        }

        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var options = context.LoadOptions();
            var healthPort = DaemonHosting.CheckPort(parse.GetValue(port));
            await using var store = await StartupRetry.OpenStoreAsync(context, cancellationToken);
            var builder = HostFactory.Create(context, options, LogLevel.Information);
            DaemonHosting.AddShared(builder, store);
            DaemonHosting.AddDaemons(builder, context, options, [name], name == DaemonHosting.Factory ? parse.GetValue(specs) : null);
            DaemonHosting.AddHealth(builder, name, healthPort);
            using var host = builder.Build();
            await host.RunAsync(CancellationToken.None);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Healthcheck(CliContext context)
    {
        var port = new Option<int>("--port") { Description = "Port of the daemon to check (8090 is the port of dispatch up)", DefaultValueFactory = _ => 8090 };
        var command = new Command("healthcheck", "Exit 0 when the daemon on 127.0.0.1:PORT reports healthy, 1 otherwise (for container healthchecks)") { port };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var url = $"http://127.0.0.1:{DaemonHosting.CheckPort(parse.GetValue(port))}/health";
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                using var response = await client.GetAsync(url, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                context.Out.WriteLine(body);
                return response.IsSuccessStatusCode ? ExitCodes.Success : ExitCodes.Failure;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                context.Error.WriteLine($"error: {url} did not respond: {ex.Message}; check that the daemon runs and serves that port.");
                return ExitCodes.Failure;
            }
        }));
        return command;
    }
}
