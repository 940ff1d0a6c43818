using System.Globalization;

namespace Dispatch.Tests.EndToEnd;

/// <summary>One run of the demo agent, from its `start` record to its `end` record (End null when it never ended).</summary>
internal sealed record JournalRun(string Task, int Attempt, long Start, long? End, IReadOnlyList<string> Files, int? ExitCode)
{
    public string Project => Task[..Task.LastIndexOf('/')];
}

/// <summary>Reads the demo agent's journal and checks the scheduling invariants on it.</summary>
internal static class Journal
{
    public static List<JournalRun> Read(string path)
    {
        var starts = new Dictionary<(string, int), (long Time, string[] Files)>();
        var runs = new List<JournalRun>();
        foreach (var line in File.ReadAllLines(path))
        {
            var fields = line.Split('\t');
            var key = (fields[1], int.Parse(fields[2], CultureInfo.InvariantCulture));
            var time = long.Parse(fields[3], CultureInfo.InvariantCulture);
            var files = fields[4].Length == 0 ? [] : fields[4].Split(',');
            if (fields[0] == "start")
            {
                starts[key] = (time, files);
            }
            else
            {
                var start = starts[key];
                starts.Remove(key);
                runs.Add(new JournalRun(key.Item1, key.Item2, start.Time, time, start.Files, int.Parse(fields[5], CultureInfo.InvariantCulture)));
            }
        }

        runs.AddRange(starts.Select(s => new JournalRun(s.Key.Item1, s.Key.Item2, s.Value.Time, null, s.Value.Files, null)));
        return runs;
    }

    public static bool Conflict(string a, string b) =>
        a == b || a.StartsWith(b + "/", StringComparison.Ordinal) || b.StartsWith(a + "/", StringComparison.Ordinal);

    private static bool Overlap(JournalRun a, JournalRun b) =>
        a.Start < (b.End ?? long.MaxValue) && b.Start < (a.End ?? long.MaxValue);

    /// <summary>Returns a description of every pair of runs that overlapped in time but must not have.</summary>
    public static List<string> OverlapViolations(IReadOnlyList<JournalRun> runs)
    {
        var violations = new List<string>();
        var ordered = runs.OrderBy(r => r.Start).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            for (var j = i + 1; j < ordered.Count && ordered[j].Start < (ordered[i].End ?? long.MaxValue); j++)
            {
                var (a, b) = (ordered[i], ordered[j]);
                if (!Overlap(a, b))
                {
                    continue;
                }

                if (a.Task == b.Task)
                {
                    violations.Add($"{a.Task} ran attempts {a.Attempt} and {b.Attempt} at once");
                }
                else if (a.Project == b.Project && a.Files.Any(fa => b.Files.Any(fb => Conflict(fa, fb))))
                {
                    violations.Add($"{a.Task} and {b.Task} ran at once with conflicting files");
                }
            }
        }

        return violations;
    }

    /// <summary>Returns every run that started before the successful run of one of its dependencies ended.</summary>
    public static List<string> DependencyViolations(IReadOnlyList<JournalRun> runs, IReadOnlyDictionary<string, IReadOnlyList<string>> dependencies)
    {
        var completedAt = runs.Where(r => r.ExitCode == 0).ToDictionary(r => r.Task, r => r.End!.Value);
        var violations = new List<string>();
        foreach (var run in runs)
        {
            foreach (var dependency in dependencies.GetValueOrDefault(run.Task, []))
            {
                if (!completedAt.TryGetValue(dependency, out var end) || run.Start < end)
                {
                    violations.Add($"{run.Task} attempt {run.Attempt} started before its dependency {dependency} completed");
                }
            }
        }

        return violations;
    }
}
