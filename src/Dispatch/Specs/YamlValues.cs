using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dispatch.Specs;

/// <summary>Reads YAML nodes as plain values: null checks, text for messages, and JSON for metadata.</summary>
internal static partial class YamlValues
{
    /// <summary>
    /// Maximum number of nodes one metadata value may expand to. Aliases let a
    /// few lines of YAML expand to billions of nodes, so the JSON writer stops here.
    /// </summary>
    public const int MaxJsonNodes = 100_000;

    private const int MaxDisplayLength = 80;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keeps Chinese and other non-ASCII text readable in the stored JSON.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>True for an empty value, <c>~</c> or <c>null</c> written without quotes.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar
        && scalar.Style is ScalarStyle.Plain or ScalarStyle.Any
        && scalar.Tag.IsEmpty
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    /// <summary>
    /// Renders a node compactly for an error message: a scalar as its text, a
    /// list as <c>[a, b]</c>, a mapping as <c>{key: value}</c> (so an unfilled
    /// <c>{priority}</c> placeholder reads as written), cut at 80 characters.
    /// </summary>
    public static string Display(YamlNode node)
    {
        var builder = new StringBuilder();
        Append(builder, node, depth: 0);
        if (builder.Length > MaxDisplayLength)
        {
            builder.Length = MaxDisplayLength - 1;
            builder.Append('…');
        }

        return builder.ToString();
    }

    /// <summary>A suffix for a message when <paramref name="displayed"/> looks like an unfilled template field.</summary>
    public static string PlaceholderHint(string displayed) =>
        PlaceholderPattern().IsMatch(displayed) ? " (it looks like an unfilled template placeholder)" : "";

    /// <summary>Describes a node's kind in words: "a list", "a mapping" or "a value".</summary>
    public static string Kind(YamlNode node) => node switch
    {
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "a value",
    };

    /// <summary>
    /// Converts a node to JSON text: quoted scalars become strings, plain
    /// scalars become null, true/false or a number when they read as one
    /// (YAML 1.2 core schema), lists become arrays and mappings objects.
    /// Returns null when the value expands past <see cref="MaxJsonNodes"/> nodes
    /// or <see cref="YamlFrontMatterReader.MaxDepth"/> levels.
    /// </summary>
    public static string? ToJson(YamlNode node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            var budget = MaxJsonNodes;
            if (!Write(writer, node, depth: 0, ref budget))
            {
                return null;
            }
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static bool Write(Utf8JsonWriter writer, YamlNode node, int depth, ref int budget)
    {
        if (--budget < 0 || depth > YamlFrontMatterReader.MaxDepth)
        {
            return false;
        }

        switch (node)
        {
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                {
                    if (!Write(writer, item, depth + 1, ref budget))
                    {
                        return false;
                    }
                }

                writer.WriteEndArray();
                return true;

            case YamlMappingNode mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in mapping.Children)
                {
                    writer.WritePropertyName(key is YamlScalarNode { Value: { } name } ? name : Display(key));
                    if (!Write(writer, value, depth + 1, ref budget))
                    {
                        return false;
                    }
                }

                writer.WriteEndObject();
                return true;

            case YamlScalarNode scalar:
                WriteScalar(writer, scalar);
                return true;

            default:
                writer.WriteNullValue();
                return true;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        var isPlain = scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && scalar.Tag.IsEmpty;
        if (!isPlain)
        {
            writer.WriteStringValue(value);
        }
        else if (IsNull(scalar))
        {
            writer.WriteNullValue();
        }
        else if (value is "true" or "True" or "TRUE")
        {
            writer.WriteBooleanValue(true);
        }
        else if (value is "false" or "False" or "FALSE")
        {
            writer.WriteBooleanValue(false);
        }
        else if (JsonNumberPattern().IsMatch(value) && double.IsFinite(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)))
        {
            writer.WriteRawValue(value);
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }

    private static void Append(StringBuilder builder, YamlNode node, int depth)
    {
        if (builder.Length > MaxDisplayLength || depth > 8)
        {
            builder.Append('…');
            return;
        }

        switch (node)
        {
            case YamlSequenceNode sequence:
                builder.Append('[');
                AppendJoined(builder, sequence.Children, depth, static (b, item, d) => Append(b, item, d));
                builder.Append(']');
                break;

            case YamlMappingNode mapping:
                builder.Append('{');
                AppendJoined(builder, mapping.Children, depth, static (b, pair, d) =>
                {
                    Append(b, pair.Key, d);
                    if (!IsNull(pair.Value))
                    {
                        b.Append(": ");
                        Append(b, pair.Value, d);
                    }
                });
                builder.Append('}');
                break;

            case YamlScalarNode scalar:
                builder.Append(scalar.Value);
                break;
        }
    }

    private static void AppendJoined<T>(StringBuilder builder, IEnumerable<T> items, int depth, Action<StringBuilder, T, int> append)
    {
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                builder.Append(", ");
            }

            first = false;
            append(builder, item, depth + 1);
            if (builder.Length > MaxDisplayLength)
            {
                return;
            }
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumberPattern();

    [GeneratedRegex(@"^\s*(\{\{?|\$\{|<)\s*[\w.\- ]+\s*(\}\}?|>)\s*$")]
    private static partial Regex PlaceholderPattern();
}
