using System.CommandLine;
using Dispatch.Storage;
using Dispatch.Storage.Migrations;

namespace Dispatch.Cli.Commands;

/// <summary><c>migrate</c>, <c>schema</c> and <c>version</c>.</summary>
internal static class DatabaseCommands
{
    public static Command Migrate(CliContext context)
    {
        var command = new Command("migrate", "Apply pending schema migrations to DISPATCH_DB_URL (every process also does this at start-up)");
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = SqlStore.Create(context.DatabaseTarget());
            var applied = await store.MigrateAsync(cancellationToken);
            var version = await store.GetSchemaVersionAsync(cancellationToken);
            context.Out.WriteLine($"{store.Target.Display}: applied {applied} migrations, schema version {version}");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Schema(CliContext context)
    {
        var backend = new Option<string>("--backend") { Description = "postgres (the default) or sqlite", DefaultValueFactory = _ => "postgres" };
        var command = new Command("schema", "Print the full schema the migrations create, as SQL (schema.sql is this output for PostgreSQL)") { backend };
        command.SetAction((parse, cancellationToken) => context.RunAsync(() =>
        {
            var folder = parse.GetValue(backend)?.ToLowerInvariant() switch
            {
                "postgres" or "postgresql" => "Postgres",
                "sqlite" => "Sqlite",
                var other => throw new CliException($"--backend \"{other}\" is not valid: use postgres or sqlite.", ExitCodes.Usage),
            };
            context.Out.Write(SchemaScript.Render(Migration.Load(folder)));
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    public static Command Version(CliContext context)
    {
        var command = new Command("version", "Print the dispatch version");
        command.SetAction(_ =>
        {
            context.Out.WriteLine($"dispatch {Dispatch.VersionInfo.Version}");
            return ExitCodes.Success;
        });
        return command;
    }
}
