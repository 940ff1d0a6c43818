using Dispatch.Specs;

namespace Dispatch.Cli.Commands;

/// <summary>Loads specs the way the import commands name them: one project folder, or a root of project folders.</summary>
internal static class SpecSource
{
    public static SpecLoadResult Load(string directory, string? project, bool all)
    {
        if (!Directory.Exists(directory))
        {
            throw new CliException($"specs directory \"{directory}\" not found: pass an existing folder of .md spec files.");
        }

        return all ? SpecDirectoryLoader.LoadAll(directory) : SpecDirectoryLoader.LoadProject(directory, project);
    }

    /// <summary>
    /// True when a folder contains no spec files of its own but has sub-folders,
    /// so it is read as a root with one project per sub-folder.
    /// </summary>
    public static bool LooksLikeRoot(string directory) =>
        Directory.Exists(directory) &&
        !Directory.EnumerateFiles(directory, "*.md").Any(f => !Path.GetFileName(f).Equals("README.md", StringComparison.OrdinalIgnoreCase)) &&
        Directory.EnumerateDirectories(directory).Any();

    /// <summary>
    /// Resolves the dependencies among the loaded specs alone and returns the tasks
    /// that would be blocked (unknown, ambiguous or cyclic references). References to
    /// tasks already in a store are not checked here.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<Dispatch.Scheduling.TaskKey, string>> WouldBlock(SpecLoadResult result) =>
        Dispatch.Scheduling.DependencyResolver.Resolve(result.Specs.Select(Dispatch.Scheduling.TaskDependencies.FromSpec).ToList())
            .Where(r => r.Value.BlockedReason is not null)
            .Select(r => KeyValuePair.Create(r.Key, r.Value.BlockedReason!))
            .OrderBy(r => r.Key.ToString(), StringComparer.Ordinal)
            .ToList();

    public static void WriteDiagnostics(TextWriter output, SpecLoadResult result)
    {
        foreach (var diagnostic in result.Rejected.Concat(result.Warnings).OrderBy(d => d.Path, StringComparer.Ordinal))
        {
            output.WriteLine(diagnostic.ToString());
        }
    }
}
