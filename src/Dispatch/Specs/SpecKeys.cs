namespace Dispatch.Specs;

/// <summary>
/// The front-matter keys Dispatch interprets, and the lookup that maps a
/// misspelt key (<c>modifiers</c>, <c>depends</c>, <c>task-id</c>) to the key it
/// most likely means.
/// </summary>
public static class SpecKeys
{
    public const string TaskId = "task_id";
    public const string Project = "project";
    public const string Priority = "priority";
    public const string EstimatedMinutes = "estimated_minutes";
    public const string TimeoutMinutes = "timeout_minutes";
    public const string DependsOn = "depends_on";
    public const string Modifies = "modifies";
    public const string Exclusive = "exclusive";
    public const string Executor = "executor";
    public const string MaxRetries = "max_retries";

    public static IReadOnlyList<string> Known { get; } =
    [
        TaskId, Project, Priority, EstimatedMinutes, TimeoutMinutes,
        DependsOn, Modifies, Exclusive, Executor, MaxRetries,
    ];

    // Synonyms too far from the real key for the edit distance to catch.
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["depends"] = DependsOn,
        ["dependencies"] = DependsOn,
        ["dependency"] = DependsOn,
        ["deps"] = DependsOn,
        ["requires"] = DependsOn,
        ["id"] = TaskId,
        ["task"] = TaskId,
        ["estimate"] = EstimatedMinutes,
        ["estimated"] = EstimatedMinutes,
        ["estimated_time"] = EstimatedMinutes,
        ["minutes"] = EstimatedMinutes,
        ["timeout"] = TimeoutMinutes,
        ["retries"] = MaxRetries,
        ["retry"] = MaxRetries,
        ["files"] = Modifies,
        ["modified_files"] = Modifies,
        ["paths"] = Modifies,
        ["agent"] = Executor,
    };

    public static bool IsKnown(string key) => Known.Contains(key, StringComparer.Ordinal);

    /// <summary>
    /// Returns the known key that <paramref name="key"/> most likely misspells,
    /// or null when it looks like a deliberate metadata key. Case, '-' and ' '
    /// are ignored. Beyond that, a synonym table and an edit distance of 1 (for
    /// keys up to 6 characters) or 2 decide.
    /// </summary>
    public static string? FindLikelyKey(string key)
    {
        if (IsKnown(key))
        {
            return null;
        }

        var normalized = key.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
        if (IsKnown(normalized))
        {
            return normalized;
        }

        if (Synonyms.TryGetValue(normalized, out var synonym))
        {
            return synonym;
        }

        var compact = normalized.Replace("_", "", StringComparison.Ordinal);
        foreach (var known in Known)
        {
            if (compact == known.Replace("_", "", StringComparison.Ordinal))
            {
                return known;
            }
        }

        string? best = null;
        var bestDistance = int.MaxValue;
        var tie = false;
        foreach (var known in Known)
        {
            var limit = known.Length <= 6 ? 1 : 2;
            var distance = EditDistance(normalized, known);
            if (distance > limit)
            {
                continue;
            }

            if (distance < bestDistance)
            {
                best = known;
                bestDistance = distance;
                tie = false;
            }
            else if (distance == bestDistance)
            {
                tie = true;
            }
        }

        return tie ? null : best;
    }

    /// <summary>
    /// Computes the optimal-string-alignment distance: insertions, deletions,
    /// substitutions and swaps of two neighbouring characters each cost 1.
    /// </summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
