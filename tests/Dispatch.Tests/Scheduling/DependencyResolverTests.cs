using System.Diagnostics;
using Dispatch.Scheduling;
using Xunit;

namespace Dispatch.Tests.Scheduling;

public class DependencyResolverTests
{
    private static TaskKey Key(string reference)
    {
        var slash = reference.LastIndexOf('/');
        return new TaskKey(reference[..slash], reference[(slash + 1)..]);
    }

    /// <summary>Builds tasks from "project/id: dep, dep" lines.</summary>
    private static IReadOnlyDictionary<TaskKey, DependencyResolution> Resolve(params string[] lines)
    {
        var tasks = lines.Select(line =>
        {
            var parts = line.Split(':', 2);
            var dependencies = parts.Length == 1
                ? []
                : parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return new TaskDependencies(Key(parts[0].Trim()), dependencies);
        }).ToList();

        return DependencyResolver.Resolve(tasks);
    }

    [Fact]
    public void Resolve_ExactMatch()
    {
        var result = Resolve("p/A: B", "p/B");

        Assert.Equal([Key("p/B")], result[Key("p/A")].Dependencies);
        Assert.Null(result[Key("p/A")].BlockedReason);
        Assert.Empty(result[Key("p/B")].Dependencies);
        Assert.False(result[Key("p/B")].IsBlocked);
    }

    [Fact]
    public void Resolve_UniquePrefix()
    {
        var result = Resolve("p/E03-listmonk: B02", "p/B02-listmonk", "p/B020-other");

        Assert.Equal([Key("p/B02-listmonk")], result[Key("p/E03-listmonk")].Dependencies);
        Assert.Null(result[Key("p/E03-listmonk")].BlockedReason);
    }

    [Fact]
    public void Resolve_ExactBeatsPrefix()
    {
        var result = Resolve("p/A: B02", "p/B02", "p/B02-x", "p/B02-y");

        Assert.Equal([Key("p/B02")], result[Key("p/A")].Dependencies);
        Assert.Null(result[Key("p/A")].BlockedReason);
    }

    [Fact]
    public void Resolve_PrefixNeedsDash()
    {
        var result = Resolve("p/A: B0", "p/B02-x");

        Assert.StartsWith("unknown dependency \"B0\"", result[Key("p/A")].BlockedReason);
    }

    [Fact]
    public void Resolve_AmbiguousPrefix()
    {
        var result = Resolve("p/A: S07, S01", "p/S07-pull-mode", "p/S07-pull-mode-v2", "p/S07-predictive", "p/S01-db");

        var resolution = result[Key("p/A")];
        Assert.Equal(
            "dependency \"S07\" is ambiguous: it is the prefix of 3 task ids in project \"p\" (\"S07-predictive\", \"S07-pull-mode\", \"S07-pull-mode-v2\"); write the full task id",
            resolution.BlockedReason);
        Assert.Equal([Key("p/S01-db")], resolution.Dependencies);
    }

    [Fact]
    public void Resolve_AmbiguousListsFiveCandidates()
    {
        var lines = Enumerable.Range(1, 8).Select(i => $"p/X-{i}").Append("p/A: X").ToArray();

        var reason = Resolve(lines)[Key("p/A")].BlockedReason;

        Assert.Contains("prefix of 8 task ids", reason);
        Assert.Contains("and 3 more", reason);
    }

    [Fact]
    public void Resolve_UnknownDependency()
    {
        var result = Resolve("p/A: B, Z9", "p/B");

        var resolution = result[Key("p/A")];
        Assert.Equal(
            "unknown dependency \"Z9\": project \"p\" has no task \"Z9\" and no task id starting with \"Z9-\"; fix the reference or import the spec that defines it",
            resolution.BlockedReason);
        Assert.Equal([Key("p/B")], resolution.Dependencies);
    }

    [Fact]
    public void Resolve_SeveralProblems()
    {
        var result = Resolve("p/A: B02, S07, x/C, B", "p/B", "p/S07-a", "p/S07-b");

        Assert.Equal(
            "3 dependencies cannot be resolved: \"B02\" matches no task id; \"S07\" is ambiguous (\"S07-a\", \"S07-b\"); \"x/C\" names project \"x\", which has no tasks. "
            + "Write each as a full task id or project/task_id, or import the specs that define them",
            result[Key("p/A")].BlockedReason);
        Assert.Equal([Key("p/B")], result[Key("p/A")].Dependencies);
    }

    [Fact]
    public void Resolve_UnknownProject()
    {
        var reason = Resolve("p/A: nowhere/B")[Key("p/A")].BlockedReason;

        Assert.StartsWith("unknown dependency \"nowhere/B\": project \"nowhere\" has no tasks", reason);
    }

    [Fact]
    public void Resolve_CrossProject()
    {
        var result = Resolve("web/A: api/B01, C", "api/B01-schema", "web/C", "api/C");

        Assert.Equal([Key("api/B01-schema"), Key("web/C")], result[Key("web/A")].Dependencies);
        Assert.Null(result[Key("web/A")].BlockedReason);
    }

    [Fact]
    public void Resolve_ProjectWithSlashSplitsAtLast()
    {
        var result = Resolve("p/A: team/api/B", "team/api/B");

        Assert.Equal([Key("team/api/B")], result[Key("p/A")].Dependencies);
    }

    [Fact]
    public void Resolve_Cycle()
    {
        var result = Resolve("p/A: B", "p/B: C", "p/C: A", "p/D");

        Assert.Equal("dependency cycle: p/A → p/B → p/C → p/A", result[Key("p/A")].BlockedReason);
        Assert.Equal("dependency cycle: p/B → p/C → p/A → p/B", result[Key("p/B")].BlockedReason);
        Assert.Equal("dependency cycle: p/C → p/A → p/B → p/C", result[Key("p/C")].BlockedReason);
        Assert.Null(result[Key("p/D")].BlockedReason);
        Assert.Equal([Key("p/B")], result[Key("p/A")].Dependencies);
    }

    [Fact]
    public void Resolve_CycleShortestPath()
    {
        var result = Resolve("p/A: B, C", "p/B: C", "p/C: A");

        Assert.Equal("dependency cycle: p/A → p/C → p/A", result[Key("p/A")].BlockedReason);
        Assert.Equal("dependency cycle: p/B → p/C → p/A → p/B", result[Key("p/B")].BlockedReason);
    }

    [Fact]
    public void Resolve_SelfThroughPrefix()
    {
        var result = Resolve("p/B02-x: B02");

        Assert.Equal("dependency cycle: p/B02-x → p/B02-x", result[Key("p/B02-x")].BlockedReason);
    }

    [Fact]
    public void Resolve_TransitiveBlock()
    {
        var result = Resolve("p/A: missing", "p/B: A", "p/C: B", "p/D: C, B", "p/E");

        Assert.StartsWith("unknown dependency \"missing\"", result[Key("p/A")].BlockedReason);
        Assert.Equal("dependency \"p/A\" is blocked", result[Key("p/B")].BlockedReason);
        Assert.Equal("dependency \"p/B\" is blocked, because it waits on blocked task \"p/A\"", result[Key("p/C")].BlockedReason);
        Assert.Equal("dependency \"p/C\" is blocked, because it waits on blocked task \"p/A\"", result[Key("p/D")].BlockedReason);
        Assert.Null(result[Key("p/E")].BlockedReason);
        Assert.Equal([Key("p/C"), Key("p/B")], result[Key("p/D")].Dependencies);
    }

    [Fact]
    public void Resolve_BlockedByCycleDownstream()
    {
        var result = Resolve("p/A: B", "p/B: A", "q/C: p/A");

        Assert.Equal("dependency \"p/A\" is blocked", result[Key("q/C")].BlockedReason);
        Assert.Equal([Key("p/A")], result[Key("q/C")].Dependencies);
    }

    [Fact]
    public void Resolve_OrderIndependent()
    {
        string[] lines = ["p/A: B, C", "p/B: C", "p/C: A", "p/D: A, nope", "p/E: D", "q/F: p/E"];

        var forward = Resolve(lines);
        var backward = Resolve(lines.Reverse().ToArray());

        foreach (var (key, resolution) in forward)
        {
            Assert.Equal(resolution.BlockedReason, backward[key].BlockedReason);
            Assert.Equal(resolution.Dependencies, backward[key].Dependencies);
        }
    }

    [Fact]
    public void Resolve_DuplicateReferencesCollapse()
    {
        var result = Resolve("p/A: B01, B01-x, p/B01-x", "p/B01-x");

        Assert.Equal([Key("p/B01-x")], result[Key("p/A")].Dependencies);
    }

    [Fact]
    public void Resolve_DuplicateTaskThrows()
    {
        var tasks = new[] { new TaskDependencies(Key("p/A"), []), new TaskDependencies(Key("p/A"), []) };

        var exception = Assert.Throws<ArgumentException>(() => DependencyResolver.Resolve(tasks));

        Assert.Contains("p/A", exception.Message);
    }

    [Fact]
    public void Resolve_Empty()
    {
        Assert.Empty(DependencyResolver.Resolve([]));
    }

    [Fact]
    public void Resolve_LongChainNoRecursion()
    {
        const int count = 50_000;
        var tasks = Enumerable.Range(0, count)
            .Select(i => new TaskDependencies(new TaskKey("p", $"T{i:D6}"), i == 0 ? ["missing"] : [$"T{i - 1:D6}"]))
            .ToList();

        var stopwatch = Stopwatch.StartNew();
        var result = DependencyResolver.Resolve(tasks);
        stopwatch.Stop();

        Assert.Equal(count, result.Count);
        Assert.All(result.Values, resolution => Assert.True(resolution.IsBlocked));
        Assert.Equal("dependency \"p/T049998\" is blocked, because it waits on blocked task \"p/T000000\"",
            result[new TaskKey("p", "T049999")].BlockedReason);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public void Resolve_LargeCycle()
    {
        const int count = 20_000;
        var tasks = Enumerable.Range(0, count)
            .Select(i => new TaskDependencies(new TaskKey("p", $"T{i:D5}"), [$"T{(i + 1) % count:D5}"]))
            .ToList();

        var stopwatch = Stopwatch.StartNew();
        var result = DependencyResolver.Resolve(tasks);
        stopwatch.Stop();

        var reason = result[new TaskKey("p", "T00005")].BlockedReason;
        Assert.StartsWith("on a dependency cycle: 20000 tasks depend on each other, for example p/T00000 → p/T00001", reason);
        Assert.EndsWith("more) → p/T00000", reason);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public void Resolve_ManyPrefixLookups()
    {
        const int count = 20_000;
        var tasks = new List<TaskDependencies>();
        for (var i = 0; i < count; i++)
        {
            var dependencies = i == 0 ? Array.Empty<string>() : [$"G{i - 1}", "G0"];
            tasks.Add(new TaskDependencies(new TaskKey("p", $"G{i}-task"), dependencies));
        }

        var stopwatch = Stopwatch.StartNew();
        var result = DependencyResolver.Resolve(tasks);
        stopwatch.Stop();

        Assert.All(result.Values, resolution => Assert.Null(resolution.BlockedReason));
        Assert.Equal([new TaskKey("p", "G41-task"), new TaskKey("p", "G0-task")], result[new TaskKey("p", "G42-task")].Dependencies);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }
}
