namespace Dispatch.Specs;

/// <summary>
/// A spec's text split at its front-matter: the YAML between the opening
/// <c>---</c> on line 1 and the next <c>---</c> line, and the body after it.
/// Only the first block counts, so a repeated header in the body stays body
/// text. Trailing spaces, tabs and a CR after either <c>---</c> are allowed.
/// </summary>
internal sealed record FrontMatter(string Yaml, int YamlFirstLine, int ClosingLine, string Body)
{
    private const string Delimiter = "---";

    /// <summary>
    /// Splits <paramref name="text"/>, or returns null and sets
    /// <paramref name="error"/> (message and 1-based line) when the text has no
    /// complete front-matter block.
    /// </summary>
    public static FrontMatter? Split(string text, out (int Line, string Message) error)
    {
        error = default;
        var firstLineEnd = text.IndexOf('\n');
        var firstLine = firstLineEnd < 0 ? text : text[..firstLineEnd];

        if (!IsDelimiter(firstLine))
        {
            error = DescribeMissingStart(text);
            return null;
        }

        if (firstLineEnd < 0)
        {
            error = (1, "the front-matter that starts on line 1 is not closed: add a line \"---\" after the last key");
            return null;
        }

        var yamlStart = firstLineEnd + 1;
        var lineStart = yamlStart;
        var lineNumber = 2;
        while (lineStart <= text.Length)
        {
            var lineEnd = text.IndexOf('\n', lineStart);
            var line = lineEnd < 0 ? text[lineStart..] : text[lineStart..lineEnd];
            if (IsDelimiter(line))
            {
                var yaml = text[yamlStart..lineStart];
                var body = lineEnd < 0 ? "" : text[(lineEnd + 1)..];
                return new FrontMatter(yaml, 2, lineNumber, body);
            }

            if (lineEnd < 0)
            {
                break;
            }

            lineStart = lineEnd + 1;
            lineNumber++;
        }

        error = (1, "the front-matter that starts on line 1 is not closed: add a line \"---\" after the last key");
        return null;
    }

    private static bool IsDelimiter(string line) => line.TrimEnd(' ', '\t', '\r') == Delimiter;

    private static (int Line, string Message) DescribeMissingStart(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (1, "the file is empty: a spec starts with a front-matter block, a line \"---\", lines such as \"task_id: my-task\", and a closing \"---\" line");
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            if (IsDelimiter(lines[i]))
            {
                return (i + 1, $"the front-matter must start on line 1, but \"---\" is on line {i + 1}: remove the blank lines before it");
            }

            break;
        }

        return (1, "no front-matter: a spec must start with a line \"---\", then lines such as \"task_id: my-task\", then a closing \"---\" line");
    }
}
