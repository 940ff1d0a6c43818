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
            context.Out.WriteLine($"{store.Target.Display}: applied {applied} migration{(applied == 1 ? "" : "s")}, schema version {version}");
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

    public static Command ImportSqlite(CliContext context)
    {
        var from = new Option<string>("--from") { Description = "The SQLite store to copy (a dispatch.db file)", Required = true };
        var json = ImportCommands.JsonOption();
        var command = new Command("import-sqlite", "Copy a SQLite store into the PostgreSQL store of DISPATCH_DB_URL; a second run copies nothing") { from, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = SqlStore.Create(context.DatabaseTarget());
            var copies = await SqliteImporter.CopyAsync(parse.GetValue(from)!, store, cancellationToken);
            if (parse.GetValue(json))
            {
                Output.JsonOutput.Write(context.Out, copies);
            }
            else
            {
                var table = new Output.Table("TABLE", "IN SQLITE", "COPIED", "VERIFIED IN POSTGRESQL");
                foreach (var copy in copies)
                {
                    table.Add(copy.Table, copy.Source.ToString(), copy.Copied.ToString(), copy.Verified.ToString());
                }

                table.Write(context.Out);
            }

            var missing = copies.Where(c => c.Verified != c.Source).ToList();
            if (missing.Count > 0)
            {
                throw new CliException("some rows are not in PostgreSQL after the copy: " +
                    string.Join(", ", missing.Select(m => $"{m.Table} {m.Verified}/{m.Source}")));
            }

            context.Out.WriteLine($"copied {copies.Sum(c => c.Copied)} rows into {store.Target.Display}; every source row verified");
            return ExitCodes.Success;
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
