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
        catch (RejectedYamlException exception)
        {
            error = ((int)exception.Start.Line, exception.Message);
        }
        catch (AnchorNotFoundException exception)
        {
            // The exception's own mark points at the document start, so the line
            // comes from the tracking parser.
            error = (parser.FirstUndefinedAliasLine ?? parser.LastLine, $"the front-matter is not valid YAML ({exception.Message.TrimEnd('.')}): define the anchor (&name) before the alias (*name), or quote a value that starts with *");
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

    /// <summary>
    /// Passes parser events through while recording the line of the last event
    /// and of the first alias without an anchor. It rejects what the node tree
    /// cannot hold safely: nesting deeper than <see cref="MaxDepth"/>, keys that
    /// are lists, mappings or aliases, and an alias inside the node it refers
    /// to. YamlDotNet 18.1.0 hashes complex keys recursively, so a self-referring
    /// key overflows the stack.
    /// </summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        private readonly HashSet<string> definedAnchors = new(StringComparer.Ordinal);
        private readonly HashSet<string> openAnchors = new(StringComparer.Ordinal);
        private readonly Stack<Collection> collections = new();

        public int LastLine { get; private set; } = 1;

        public int? FirstUndefinedAliasLine { get; private set; }

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
                case Scalar or AnchorAlias or SequenceStart or MappingStart:
                    StartNode(current);
                    break;
                case SequenceEnd or MappingEnd:
                    var closed = collections.Pop();
                    if (closed.Anchor is not null)
                    {
                        openAnchors.Remove(closed.Anchor);
                    }

                    CompleteNode();
                    break;
            }

            return moved;
        }

        private void StartNode(ParsingEvent current)
        {
            var isKey = collections.TryPeek(out var parent) && parent.IsMapping && parent.ExpectsKey;
            if (isKey && current is not Scalar)
            {
                throw new RejectedYamlException(current,
                    "a front-matter key is a list, mapping or alias: write each key as plain text, such as \"task_id:\"");
            }

            if (current is AnchorAlias alias)
            {
                var name = alias.Value.Value;
                if (openAnchors.Contains(name))
                {
                    throw new RejectedYamlException(current,
                        $"the alias *{name} is inside the value it refers to, which makes the value infinite: remove the alias");
                }

                if (!definedAnchors.Contains(name))
                {
                    FirstUndefinedAliasLine ??= LastLine;
                }
            }

            var anchor = current is NodeEvent { Anchor.IsEmpty: false } node ? node.Anchor.Value : null;
            if (anchor is not null)
            {
                definedAnchors.Add(anchor);
            }

            if (current is Scalar or AnchorAlias)
            {
                CompleteNode();
                return;
            }

            if (collections.Count >= MaxDepth)
            {
                throw new RejectedYamlException(current,
                    $"lists and mappings are nested more than {MaxDepth} levels deep: flatten the value");
            }

            if (anchor is not null)
            {
                openAnchors.Add(anchor);
            }

            collections.Push(new Collection(current is MappingStart, anchor));
        }

        /// <summary>Moves the enclosing mapping from key to value or from value to the next key.</summary>
        private void CompleteNode()
        {
            if (collections.TryPeek(out var parent) && parent.IsMapping)
            {
                parent.ExpectsKey = !parent.ExpectsKey;
            }
        }

        private sealed class Collection(bool isMapping, string? anchor)
        {
            public bool IsMapping { get; } = isMapping;

            public string? Anchor { get; } = anchor;

            public bool ExpectsKey { get; set; } = true;
        }
    }

    /// <summary>A front-matter construct rejected before YamlDotNet builds nodes from it; the message is the full diagnostic.</summary>
    private sealed class RejectedYamlException(ParsingEvent at, string message)
        : YamlException(at.Start, at.End, message);
}
