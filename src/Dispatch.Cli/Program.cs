using System.CommandLine;
using Dispatch.Cli.Commands;

namespace Dispatch.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Console.OutputEncoding = System.Text.Encoding.UTF8;
        var context = new CliContext();
        var root = BuildRoot(context);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"error: {error.Message}");
            }

            Console.Error.WriteLine("run 'dispatch --help' for the commands and their options");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync();
    }

    internal static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand(
            "Dispatch runs task specs (Markdown with a YAML header) for coding agents and command-line jobs, " +
            "in dependency order, without file conflicts, on SQLite or PostgreSQL.");
        foreach (var command in new[]
                 {
                     RunCommands.Up(context),
                     RunCommands.Worker(context),
                     DaemonCommands.Create(context, DaemonHosting.Guardian, "Run the guardian: nodes, timeouts, dependency blocks, quarantine (health on port 8091)"),
                     DaemonCommands.Create(context, DaemonHosting.Reaper, "Run the reaper: expired leases, retries with backoff, dead-letters, cleanup (health on port 8092)"),
                     DaemonCommands.Create(context, DaemonHosting.Factory, "Run the factory: import new and changed specs from the specs folder (health on port 8093)"),
                     DaemonCommands.Healthcheck(context),
                     ImportCommands.Validate(context),
                     ImportCommands.Start(context),
                     InspectCommands.Status(context),
                     InspectCommands.Show(context),
                     InspectCommands.Logs(context),
                     InspectCommands.Events(context),
                     InspectCommands.Nodes(context),
                     OperatorCommands.Retry(context),
                     OperatorCommands.Cancel(context),
                     DatabaseCommands.Migrate(context),
                     DatabaseCommands.Schema(context),
                     DatabaseCommands.ImportSqlite(context),
                     DatabaseCommands.Version(context),
                 })
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
