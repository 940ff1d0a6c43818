using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Dispatch.Specs;

/// <summary>Loads front-matter YAML into a node tree, turning every failure into a message and a line.</summary>
internal static class YamlFrontMatterReader
{
    /// <summary>
    /// Maximum nesting of lists and mappings. YamlDotNet builds its node tree
    /// recursively, so a deeply nested input would otherwise overflow the stack,
    /// which no catch block can handle.
    /// </summary>
    public const int MaxDepth = 64;

    private const string SyntaxHint =
        "fix the YAML on that line: quote values that contain \": \" or \" #\", or that start with {, [, *, &, !, |, >, @, % or a backtick";

    /// <summary>
    /// Parses <paramref name="yaml"/> and returns its root node, null for an
    /// empty document, or sets <paramref name="error"/> with a line relative to
    /// the YAML text (1-based).
    /// </summary>
    public static YamlNode? Load(string yaml, out (int? Line, string Message)? error)
    {
        error = null;
        var parser = new TrackingParser(new Parser(new StringReader(yaml)));
        try
        {
            var stream = new YamlStream();
            stream.Load(parser);
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (NestingTooDeepException exception)
        {
            error = ((int)exception.Start.Line, $"{exception.Message}: flatten the value");
        }
        catch (YamlException exception) when (exception.Message.StartsWith("Duplicate key", StringComparison.Ordinal))
        {
            var key = exception.Message["Duplicate key".Length..].Trim();
            error = ((int)exception.Start.Line, $"key \"{key}\" appears twice in the front-matter: remove one of them");
        }
        catch (YamlException exception)
        {
            var line = exception.Start.Line > 0 ? (int)exception.Start.Line : parser.LastLine;
            var reason = exception.InnerException?.Message ?? exception.Message;
            error = (line, $"the front-matter is not valid YAML ({reason.TrimEnd('.')}): {SyntaxHint}");
        }
        catch (Exception exception) when (exception is InvalidOperationException or ArgumentException)
        {
            // NOTE: YamlDotNet 18.1.0 throws InvalidOperationException instead of a
            // YamlException for some unclosed flow collections (for example
            // "a: {x: 1" followed by another key), so the line is the last one
            // the parser read.
            error = (parser.LastLine, $"the front-matter is not valid YAML after this line (the parser stopped with \"{exception.Message.TrimEnd('.')}\"): check for an unclosed [, {{ or quote");
        }

        return null;
    }

    /// <summary>Records the position of the last event and rejects nesting deeper than <see cref="MaxDepth"/>.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        private int depth;

        public int LastLine { get; private set; } = 1;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            var current = inner.Current;
            if (current is null)
            {
                return moved;
            }

            LastLine = (int)Math.Max(1, current.Start.Line);
            switch (current)
            {
                case MappingStart or SequenceStart:
                    depth++;
                    if (depth > MaxDepth)
                    {
                        throw new NestingTooDeepException(current.Start, current.End);
                    }

                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }

            return moved;
        }
    }

    private sealed class NestingTooDeepException(Mark start, Mark end)
        : YamlException(start, end, $"lists and mappings are nested more than {MaxDepth} levels deep");
}
