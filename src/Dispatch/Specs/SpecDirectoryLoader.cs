using System.IO.Enumeration;

namespace Dispatch.Specs;

/// <summary>
/// Finds and parses spec files (<c>*.md</c>, any case, in the directory and
/// its sub-folders) and keeps one spec per (project, task_id). README.md files
/// are not specs and are skipped silently, as are hidden files and folders
/// (names starting with '.'). Files are read in ordinal order of their
/// relative path, so "the second file" of a duplicate is well defined. Loading
/// turns IOException and UnauthorizedAccessException into diagnostics instead of throwing.
/// </summary>
public static class SpecDirectoryLoader
{
    private static readonly EnumerationOptions Enumeration = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        MatchType = MatchType.Simple,
    };

    private static readonly EnumerationOptions TopLevelOnly = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        MatchType = MatchType.Simple,
    };

    /// <summary>
    /// Loads the specs of one project folder. The project of each spec is
    /// <paramref name="projectOverride"/> if given, else its front-matter
    /// <c>project</c>, else the name of <paramref name="directory"/>.
    /// </summary>
    public static SpecLoadResult LoadProject(string directory, string? projectOverride)
    {
        var missing = CheckDirectory(directory);
        if (missing is not null)
        {
            return new SpecLoadResult { Rejected = [missing] };
        }

        var folderProject = FolderName(directory);
        try
        {
            var files = FindSpecFiles(directory, Enumeration).Select(path => (path, folderProject)).ToList();
            return Load(files, projectOverride, []);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new SpecLoadResult { Rejected = [UnreadableDirectory(directory, exception)] };
        }
    }

    /// <summary>
    /// Loads every project under <paramref name="directory"/>: each immediate
    /// sub-folder is a project named after the folder unless its specs say
    /// otherwise. Spec files directly in <paramref name="directory"/> belong to
    /// no project, so they are reported as warnings and not read.
    /// </summary>
    public static SpecLoadResult LoadAll(string directory)
    {
        var missing = CheckDirectory(directory);
        if (missing is not null)
        {
            return new SpecLoadResult { Rejected = [missing] };
        }

        var warnings = new List<SpecDiagnostic>();
        var files = new List<(string Path, string FolderProject)>();
        try
        {
            foreach (var path in FindSpecFiles(directory, TopLevelOnly))
            {
                warnings.Add(new SpecDiagnostic(path, null, DiagnosticSeverity.Warning,
                    "the file is not in a project folder, so it is not read: move it into a sub-folder named after its project"));
            }

            foreach (var folder in Directory.EnumerateDirectories(directory, "*", TopLevelOnly).ToList())
            {
                var folderProject = FolderName(folder);
                files.AddRange(FindSpecFiles(folder, Enumeration).Select(path => (path, folderProject)));
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new SpecLoadResult { Rejected = [UnreadableDirectory(directory, exception)], Warnings = warnings };
        }

        // Project folders were listed one by one, so sort again to read all files
        // in the order of their path relative to the root.
        var ordered = files.OrderBy(file => Path.GetRelativePath(directory, file.Path).Replace('\\', '/'), StringComparer.Ordinal);
        return Load(ordered, projectOverride: null, warnings);
    }

    private static SpecLoadResult Load(IEnumerable<(string Path, string FolderProject)> files, string? projectOverride,
        List<SpecDiagnostic> warnings)
    {
        var specs = new List<TaskSpec>();
        var rejected = new List<SpecDiagnostic>();
        var firstPathByKey = new Dictionary<(string Project, string TaskId), string>();
        var scanned = 0;

        foreach (var (path, folderProject) in files)
        {
            scanned++;
            var result = ParseFile(path, projectOverride, folderProject);
            warnings.AddRange(result.Warnings);
            if (result.Spec is not { } spec)
            {
                rejected.Add(result.Error!);
                continue;
            }

            if (firstPathByKey.TryGetValue((spec.Project, spec.TaskId), out var firstPath))
            {
                rejected.Add(new SpecDiagnostic(path, result.TaskIdLine, DiagnosticSeverity.Error,
                    $"task_id \"{spec.TaskId}\" of project \"{spec.Project}\" is defined twice, in {firstPath} and in {path}; this second file is skipped: give one of them another task_id or delete one"));
                continue;
            }

            firstPathByKey[(spec.Project, spec.TaskId)] = path;
            specs.Add(spec);
        }

        return new SpecLoadResult { Specs = specs, Rejected = rejected, Warnings = warnings, FilesScanned = scanned };
    }

    private static SpecParseResult ParseFile(string path, string? projectOverride, string folderProject)
    {
        byte[] content;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > SpecParser.MaxFileBytes)
            {
                return SpecParser.RejectTooLarge(path, length);
            }

            content = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            var error = new SpecDiagnostic(path, null, DiagnosticSeverity.Error,
                $"the file could not be read ({exception.Message}): check that it exists and that Dispatch may read it");
            return new SpecParseResult { Error = error, Errors = [error] };
        }

        return SpecParser.Parse(path, content, projectOverride, folderProject);
    }

    /// <summary>
    /// Lists the spec files under <paramref name="directory"/>, sorted by
    /// ordinal relative path. Symbolic links to folders are not followed, so a
    /// link back to a parent cannot loop. Links to files are read.
    /// </summary>
    private static List<string> FindSpecFiles(string directory, EnumerationOptions options)
    {
        var enumerable = new FileSystemEnumerable<string>(directory, static (ref FileSystemEntry entry) => entry.ToFullPath(), options)
        {
            ShouldIncludePredicate = static (ref FileSystemEntry entry) => !entry.IsDirectory && IsSpecFileName(entry.FileName),
            ShouldRecursePredicate = static (ref FileSystemEntry entry) => (entry.Attributes & FileAttributes.ReparsePoint) == 0,
        };

        var files = new List<(string Relative, string Path)>();
        foreach (var fullPath in enumerable)
        {
            var relative = Path.GetRelativePath(directory, fullPath).Replace('\\', '/');
            files.Add((relative, Path.Join(directory, relative)));
        }

        files.Sort((left, right) => string.CompareOrdinal(left.Relative, right.Relative));
        return files.Select(file => file.Path).ToList();
    }

    private static bool IsSpecFileName(ReadOnlySpan<char> name) =>
        name.EndsWith(".md", StringComparison.OrdinalIgnoreCase)
        && !name.Equals("README.md", StringComparison.OrdinalIgnoreCase);

    private static SpecDiagnostic? CheckDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return null;
        }

        var message = File.Exists(directory)
            ? "the spec directory is a file: pass the folder that contains the spec files"
            : "the spec directory was not found: check the path, which is relative to the current directory unless absolute";
        return new SpecDiagnostic(directory, null, DiagnosticSeverity.Error, message);
    }

    private static SpecDiagnostic UnreadableDirectory(string directory, Exception exception) =>
        new(directory, null, DiagnosticSeverity.Error,
            $"the spec directory could not be read ({exception.Message}): check that Dispatch may list it and its sub-folders");

    private static string FolderName(string directory) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
}
