using Dispatch.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Dispatch.Cli.Commands;

/// <summary>
/// Builds the Generic Host the long-running commands share: Dispatch's
/// configuration stack, console logging on stderr (JSON when
/// <c>LogFormat</c> is <c>json</c>), and a shutdown timeout long enough for
/// the worker's drain window plus the executor kill grace.
/// </summary>
internal static class HostFactory
{
    public static HostApplicationBuilder Create(CliContext context, DispatchOptions options, LogLevel defaultLevel)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = defaultLevel.ToString(),
            ["Logging:LogLevel:Microsoft"] = "Warning",
        });
        builder.Configuration.AddConfiguration(context.Configuration);

        builder.Logging.ClearProviders();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        var json = string.Equals(builder.Configuration["LogFormat"], "json", StringComparison.OrdinalIgnoreCase);
        if (json)
        {
            builder.Logging.AddJsonConsole(console =>
            {
                console.IncludeScopes = true;
                console.UseUtcTimestamp = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
                console.IncludeScopes = true;
            });
        }

        // Logs go to stderr so that stdout stays the command's own output.
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.Configure<HostOptions>(host =>
        {
            host.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainSeconds + options.KillGraceSeconds + 15);
        });
        builder.Services.Configure<ConsoleLifetimeOptions>(lifetime => lifetime.SuppressStatusMessages = true);
        return builder;
    }
}
