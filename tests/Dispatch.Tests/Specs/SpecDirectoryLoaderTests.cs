using System.Text;
using Dispatch.Specs;
using Xunit;

namespace Dispatch.Tests.Specs;

public sealed class SpecDirectoryLoaderTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("dispatch-specs-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Write(string relativePath, string text)
    {
        var path = Path.Combine(root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private static string Spec(string taskId, string extra = "") => $"---\ntask_id: {taskId}\n{extra}---\n## Goal\nWork.\n";

    [Fact]
    public void LoadProject_RecursiveSortedSkipsReadme()
    {
        Write("alpha/b.md", Spec("B"));
        Write("alpha/a.md", Spec("A"));
        Write("alpha/nested/c.MD", Spec("C"));
        Write("alpha/README.md", "# About these specs\n");
        Write("alpha/docs/readme.md", "# Notes\n");
        Write("alpha/.drafts/d.md", Spec("D"));
        Write("alpha/.hidden.md", Spec("E"));
        Write("alpha/notes.txt", "not a spec");

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), null);

        Assert.Equal(["A", "B", "C"], result.Specs.Select(spec => spec.TaskId));
        Assert.All(result.Specs, spec => Assert.Equal("alpha", spec.Project));
        Assert.Equal(3, result.FilesScanned);
        Assert.Empty(result.Rejected);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void LoadProject_OverrideWins()
    {
        Write("alpha/a.md", Spec("A", "project: front\n"));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), "cli");

        Assert.Equal("cli", Assert.Single(result.Specs).Project);
    }

    [Fact]
    public void LoadProject_TrailingSlashFolderName()
    {
        Write("alpha/a.md", Spec("A"));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha") + Path.DirectorySeparatorChar, null);

        Assert.Equal("alpha", Assert.Single(result.Specs).Project);
    }

    [Fact]
    public void LoadProject_DuplicateIdNamesBothPaths()
    {
        var first = Write("alpha/a-first.md", Spec("SAME"));
        var second = Write("alpha/b-second.md", Spec("SAME"));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), null);

        var spec = Assert.Single(result.Specs);
        Assert.Equal(first, spec.SourcePath);
        var rejected = Assert.Single(result.Rejected);
        Assert.Equal(second, rejected.Path);
        Assert.Equal(2, rejected.Line);
        Assert.Contains(first, rejected.Message);
        Assert.Contains(second, rejected.Message);
        Assert.Contains("give one of them another task_id", rejected.Message);
        Assert.Equal(2, result.FilesScanned);
    }

    [Fact]
    public void LoadProject_KeepsGoodFiles()
    {
        Write("alpha/a.md", Spec("A"));
        Write("alpha/b.md", "# no front-matter\n");
        Write("alpha/c.md", Spec("C", "priority: {priority}\n"));
        Write("alpha/d.md", Spec("D", "modifiers: [x]\n"));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), null);

        Assert.Equal(["A", "D"], result.Specs.Select(spec => spec.TaskId));
        Assert.Equal(2, result.Rejected.Count);
        Assert.EndsWith("b.md", result.Rejected[0].Path);
        Assert.EndsWith("c.md", result.Rejected[1].Path);
        Assert.Contains(result.Warnings, warning => warning.Message.Contains("\"modifies\""));
        Assert.Equal(4, result.FilesScanned);
    }

    [Fact]
    public void LoadProject_OversizedFile()
    {
        Write("alpha/big.md", Spec("BIG") + new string('x', SpecParser.MaxFileBytes));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), null);

        Assert.Empty(result.Specs);
        Assert.Contains("1 MiB", Assert.Single(result.Rejected).Message);
    }

    [Fact]
    public void LoadProject_MissingDirectory()
    {
        var missing = Path.Combine(root, "nowhere");

        var result = SpecDirectoryLoader.LoadProject(missing, null);

        var error = Assert.Single(result.Rejected);
        Assert.Equal(missing, error.Path);
        Assert.StartsWith("the spec directory was not found", error.Message);
        Assert.Empty(result.Specs);
        Assert.Equal(0, result.FilesScanned);
    }

    [Fact]
    public void LoadProject_FileNotDirectory()
    {
        var file = Write("alpha/a.md", Spec("A"));

        var result = SpecDirectoryLoader.LoadProject(file, null);

        Assert.StartsWith("the spec directory is a file", Assert.Single(result.Rejected).Message);
    }

    [Fact]
    public void LoadProject_SymlinkLoopNotFollowed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Write("alpha/sub/a.md", Spec("A"));
        Directory.CreateSymbolicLink(Path.Combine(root, "alpha", "sub", "back"), Path.Combine(root, "alpha"));

        var result = SpecDirectoryLoader.LoadProject(Path.Combine(root, "alpha"), null);

        Assert.Equal("A", Assert.Single(result.Specs).TaskId);
    }

    [Fact]
    public void LoadAll_FoldersAreProjects()
    {
        Write("alpha/a.md", Spec("A"));
        Write("beta/b.md", Spec("B"));
        Write("gamma/g.md", Spec("G", "project: named\n"));

        var result = SpecDirectoryLoader.LoadAll(root);

        Assert.Equal(["alpha/A", "beta/B", "named/G"], result.Specs.Select(spec => $"{spec.Project}/{spec.TaskId}"));
        Assert.Equal(3, result.FilesScanned);
    }

    [Fact]
    public void LoadAll_RootFilesWarned()
    {
        Write("alpha/a.md", Spec("A"));
        var stray = Write("stray.md", Spec("S"));
        Write("README.md", "# Specs\n");

        var result = SpecDirectoryLoader.LoadAll(root);

        Assert.Equal("A", Assert.Single(result.Specs).TaskId);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(stray, warning.Path);
        Assert.Contains("not in a project folder", warning.Message);
        Assert.Equal(1, result.FilesScanned);
    }

    [Fact]
    public void LoadAll_DuplicateAcrossFolders()
    {
        Write("alpha/a.md", Spec("A", "project: shared\n"));
        var second = Write("beta/a.md", Spec("A", "project: shared\n"));
        Write("gamma/a.md", Spec("A"));

        var result = SpecDirectoryLoader.LoadAll(root);

        Assert.Equal(["shared/A", "gamma/A"], result.Specs.Select(spec => $"{spec.Project}/{spec.TaskId}"));
        Assert.Equal(second, Assert.Single(result.Rejected).Path);
    }

    [Fact]
    public void LoadAll_DuplicateByRelativePath()
    {
        var later = Write("alpha/a.md", Spec("A", "project: shared\n"));
        var earlier = Write("alpha-b/a.md", Spec("A", "project: shared\n"));

        var result = SpecDirectoryLoader.LoadAll(root);

        // "alpha-b/a.md" sorts first because '-' comes before '/' in ordinal order.
        Assert.Equal(earlier, Assert.Single(result.Specs).SourcePath);
        Assert.Equal(later, Assert.Single(result.Rejected).Path);
    }

    [Fact]
    public void LoadAll_MissingDirectory()
    {
        var result = SpecDirectoryLoader.LoadAll(Path.Combine(root, "nowhere"));

        Assert.StartsWith("the spec directory was not found", Assert.Single(result.Rejected).Message);
    }
}
