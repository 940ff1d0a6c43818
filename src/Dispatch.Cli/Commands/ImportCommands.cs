using System.CommandLine;
using Dispatch.Cli.Output;
using Dispatch.Specs;
using Dispatch.Storage;

namespace Dispatch.Cli.Commands;

/// <summary><c>validate</c> and <c>start</c>: read spec folders, report every rejected file, import the rest.</summary>
internal static class ImportCommands
{
    public static Command Validate(CliContext context)
    {
        var directory = new Argument<string>("DIR") { Description = "A project folder of .md specs, or a root with one project per sub-folder" };
        var all = new Option<bool>("--all") { Description = "Read DIR as a root with one project per sub-folder (the default when DIR has only sub-folders)" };
        var json = JsonOption();
        var command = new Command("validate", "Check spec files and report each rejected one; exits 1 when any is rejected") { directory, all, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(() =>
        {
            var dir = parse.GetValue(directory)!;
            var asRoot = parse.GetValue(all) || SpecSource.LooksLikeRoot(dir);
            var result = SpecSource.Load(dir, null, asRoot);
            var blocked = SpecSource.WouldBlock(result);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(context.Out, new
                {
                    files = result.FilesScanned,
                    valid = result.Specs.Count,
                    rejected = result.Rejected,
                    warnings = result.Warnings,
                    would_block = blocked.Select(b => new { task = b.Key.ToString(), reason = b.Value }),
                });
            }
            else
            {
                SpecSource.WriteDiagnostics(context.Out, result);
                foreach (var (key, reason) in blocked)
                {
                    context.Out.WriteLine($"{key}: warning: would be blocked after import: {reason}");
                }

                context.Out.WriteLine(
                    $"{result.FilesScanned} files: {result.Specs.Count} valid, {result.Rejected.Count} rejected, {result.Warnings.Count} warning{(result.Warnings.Count == 1 ? "" : "s")}");
            }

            return Task.FromResult(result.Rejected.Count > 0 ? ExitCodes.Failure : ExitCodes.Success);
        }));
        return command;
    }

    public static Command Start(CliContext context)
    {
        var arguments = new Argument<string[]>("PROJECT DIR")
        {
            Description = "The project name and its specs folder; with --all, only the root folder",
            Arity = new ArgumentArity(1, 2),
        };
        var all = new Option<bool>("--all") { Description = "Import every sub-folder of DIR as a project named after the folder" };
        var json = JsonOption();
        var command = new Command("start", "Import specs into the store (re-importing an unchanged file does nothing)") { arguments, all, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var values = parse.GetValue(arguments) ?? [];
            var importAll = parse.GetValue(all);
            string? project;
            string dir;
            if (importAll)
            {
                if (values.Length != 1)
                {
                    throw new CliException("start --all takes one folder: dispatch start --all DIR", ExitCodes.Usage);
                }

                (project, dir) = (null, values[0]);
            }
            else
            {
                if (values.Length != 2)
                {
                    throw new CliException("start needs a project and a folder: dispatch start PROJECT DIR (or dispatch start --all DIR)", ExitCodes.Usage);
                }

                (project, dir) = (values[0], values[1]);
                if (Dispatch.Specs.SpecNames.Describe(project) is string problem)
                {
                    throw new CliException($"project name \"{project}\" is not valid because {problem}: {Dispatch.Specs.SpecNames.RuleText}", ExitCodes.Usage);
                }
            }

            var options = context.LoadOptions();
            var result = SpecSource.Load(dir, project, importAll);
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var summary = await ImportAsync(store, result, options, cancellationToken);
            WriteSummary(context, result, summary, parse.GetValue(json));
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Imports the valid specs and records each rejected file as a <c>spec_rejected</c> event.</summary>
    public static async Task<ImportSummary> ImportAsync(IDispatchStore store, SpecLoadResult result, Dispatch.Configuration.DispatchOptions options, CancellationToken cancellationToken)
    {
        var summary = await store.ImportAsync(result.Specs, new ImportDefaults(options.DefaultExecutor, options.MaxRetries), cancellationToken);
        foreach (var rejected in result.Rejected)
        {
            await store.AppendEventAsync("spec_rejected", null, null, new { path = rejected.Path, line = rejected.Line, error = rejected.Message }, cancellationToken);
        }

        return summary;
    }

    public static void WriteSummary(CliContext context, SpecLoadResult result, ImportSummary summary, bool json)
    {
        if (json)
        {
            JsonOutput.Write(context.Out, new
            {
                imported = summary.Imported,
                updated = summary.Updated,
                unchanged = summary.Unchanged,
                rejected = result.Rejected.Count,
                blocked = summary.Blocked,
                completed_changed = summary.CompletedChanged.Select(k => k.ToString()),
                in_flight_changed = summary.InFlightChanged.Select(k => k.ToString()),
                diagnostics = result.Rejected.Concat(result.Warnings),
            });
            return;
        }

        SpecSource.WriteDiagnostics(context.Out, result);
        foreach (var key in summary.InFlightChanged)
        {
            context.Out.WriteLine($"{key}: spec changed while the task runs; import again after its attempt ends");
        }

        foreach (var key in summary.CompletedChanged)
        {
            context.Out.WriteLine($"{key}: spec changed but the task already completed; left alone");
        }

        context.Out.WriteLine(
            $"imported {summary.Imported}, updated {summary.Updated}, unchanged {summary.Unchanged}, rejected {result.Rejected.Count}" +
            (summary.Blocked > 0 ? $"; {summary.Blocked} blocked (see 'dispatch status')" : ""));
    }

    internal static Option<bool> JsonOption() => new("--json") { Description = "Print JSON for scripts instead of a table" };
}
