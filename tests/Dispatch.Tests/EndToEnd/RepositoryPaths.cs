namespace Dispatch.Tests.EndToEnd;

/// <summary>Locates the repository (for the ./dispatch launcher) and the shared spec corpus from the test's output folder.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindUp("Dispatch.sln") ?? throw new InvalidOperationException("Dispatch.sln not found above " + AppContext.BaseDirectory);

    public static string Launcher => Path.Combine(Root, "dispatch");

    /// <summary>The real task specs kept beside the repository, or null when this checkout has none.</summary>
    public static string? Corpus
    {
        get
        {
            var directory = new DirectoryInfo(Root);
            while (directory is not null)
            {
                var candidate = Path.Combine(directory.FullName, "shared", "corpus");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }

                directory = directory.Parent;
            }

            return null;
        }
    }

    private static string? FindUp(string marker)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, marker)))
        {
            directory = directory.Parent;
        }

        return directory?.FullName;
    }
}
