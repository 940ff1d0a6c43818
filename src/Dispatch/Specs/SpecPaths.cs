namespace Dispatch.Specs;

/// <summary>
/// Normalises <c>modifies</c> paths to repository-relative form so that equal
/// paths compare equal: trimmed, <c>\</c> → <c>/</c>, no <c>.</c> segments, no
/// empty segments, <c>a/../b</c> resolved, no trailing <c>/</c>. Comparison
/// stays case-sensitive.
/// </summary>
public static class SpecPaths
{
    /// <summary>The outcome of normalising one path: the path or an error, and an optional warning.</summary>
    public readonly record struct Result(string? Path, string? Error, string? Warning);

    private const string Fix = "list paths relative to the repository root, such as \"src/app.py\"";

    public static Result Normalize(string raw)
    {
        var trimmed = raw.Trim();
        var path = trimmed.Replace('\\', '/');

        if (path.Any(char.IsControl))
        {
            return Invalid(raw, "it contains a control character");
        }

        if (path.StartsWith('/'))
        {
            return Invalid(raw, "it is an absolute path");
        }

        if (path.Length >= 2 && char.IsAsciiLetter(path[0]) && path[1] == ':')
        {
            return Invalid(raw, "it starts with a drive letter");
        }

        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            return Invalid(raw, "it starts with ~, the home directory");
        }

        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (segments.Count == 0)
                    {
                        return Invalid(raw, "it leads out of the repository root");
                    }

                    segments.RemoveAt(segments.Count - 1);
                    continue;
                default:
                    segments.Add(segment);
                    continue;
            }
        }

        // "dir/*" and "dir/**" mean the whole directory, which the directory path
        // already covers because a directory conflicts with everything under it.
        string? warning = null;
        while (segments.Count > 0 && segments[^1] is "*" or "**")
        {
            segments.RemoveAt(segments.Count - 1);
            warning = $"modifies path \"{trimmed}\" is read as the directory \"{string.Join('/', segments)}\"";
        }

        if (segments.Count == 0)
        {
            return new Result(null,
                $"modifies path \"{trimmed}\" is not valid: it names the whole repository; list the files or folders the task changes, or set \"exclusive: true\"",
                null);
        }

        var normalized = string.Join('/', segments);
        if (warning is null && normalized.IndexOfAny(['*', '?', '[']) >= 0)
        {
            warning = $"modifies path \"{trimmed}\" contains a wildcard, but paths are compared literally: list the files, or the folder that contains them";
        }

        return new Result(normalized, null, warning);
    }

    /// <summary>
    /// True when two normalised paths are equal or one is a directory prefix of
    /// the other (<c>src</c> conflicts with <c>src/a.py</c>, not with <c>src2</c>).
    /// </summary>
    public static bool Conflicts(string first, string second)
    {
        if (first.Length == second.Length)
        {
            return string.Equals(first, second, StringComparison.Ordinal);
        }

        var (shorter, longer) = first.Length < second.Length ? (first, second) : (second, first);
        return longer.StartsWith(shorter, StringComparison.Ordinal) && longer[shorter.Length] == '/';
    }

    private static Result Invalid(string raw, string reason) =>
        new(null, $"modifies path \"{raw.Trim()}\" is not valid: {reason}; {Fix}", null);
}
