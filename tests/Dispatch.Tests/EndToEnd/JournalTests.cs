namespace Dispatch.Tests.EndToEnd;

/// <summary>The journal checks must catch what they look for, or the corpus run proves nothing.</summary>
public sealed class JournalTests
{
    private static JournalRun Run(string task, long start, long end, params string[] files) =>
        new(task, 1, start, end, files, 0);

    [Fact]
    public void OverlapWithConflictingFilesIsReported()
    {
        var runs = new[] { Run("p/a", 0, 10, "src"), Run("p/b", 5, 15, "src/x.py") };
        Assert.Single(Journal.OverlapViolations(runs));
    }

    [Fact]
    public void OverlapInOtherProjectsIsAllowed()
    {
        var runs = new[] { Run("p/a", 0, 10, "src"), Run("q/b", 5, 15, "src") };
        Assert.Empty(Journal.OverlapViolations(runs));
    }

    [Fact]
    public void SameTaskTwiceAtOnceIsReported()
    {
        var runs = new[] { Run("p/a", 0, 10), Run("p/a", 5, 15) with { Attempt = 2 } };
        Assert.Single(Journal.OverlapViolations(runs));
    }

    [Fact]
    public void SiblingPathsDoNotConflict()
    {
        Assert.False(Journal.Conflict("src/a", "src/ab"));
        Assert.True(Journal.Conflict("src/a", "src/a/b"));
    }

    [Fact]
    public void EarlyStartBeforeDependencyIsReported()
    {
        var runs = new[] { Run("p/a", 0, 10), Run("p/b", 5, 15) };
        var dependencies = new Dictionary<string, IReadOnlyList<string>> { ["p/b"] = ["p/a"] };
        Assert.Single(Journal.DependencyViolations(runs, dependencies));
    }
}
