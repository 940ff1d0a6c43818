using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Dispatch.Specs;

/// <summary>
/// Converts front-matter values to field values, recording an error or warning
/// with the file line of the offending key or item for every value it cannot use.
/// </summary>
internal sealed class SpecFieldReader(string path, int yamlFirstLine)
{
    /// <summary>Upper bound for minute fields: one year, far above any real run and safe from overflow in 3 × estimate.</summary>
    public const int MaxMinutes = 525_600;

    public const string PriorityFix =
        "use an integer (0 = most urgent) or one of critical, urgent, high, medium, normal, low, 高, 中, 低";

    private static readonly Dictionary<string, int> PriorityWords = new(StringComparer.Ordinal)
    {
        ["critical"] = 0,
        ["urgent"] = 0,
        ["high"] = 1,
        ["medium"] = 2,
        ["normal"] = 2,
        ["low"] = 3,
        ["高"] = 1,
        ["中"] = 2,
        ["低"] = 3,
    };

    public List<SpecDiagnostic> Errors { get; } = [];

    public List<SpecDiagnostic> Warnings { get; } = [];

    /// <summary>The 1-based file line where <paramref name="node"/> starts.</summary>
    public int LineOf(YamlNode node) => (int)node.Start.Line + yamlFirstLine - 1;

    public void Error(YamlNode? node, string message) =>
        Errors.Add(new SpecDiagnostic(path, node is null ? null : LineOf(node), DiagnosticSeverity.Error, message));

    public void Warning(YamlNode? node, string message) =>
        Warnings.Add(new SpecDiagnostic(path, node is null ? null : LineOf(node), DiagnosticSeverity.Warning, message));

    /// <summary>Records the standard "field "value" is not valid: fix" error for <paramref name="value"/>.</summary>
    public void Invalid(string field, YamlNode key, YamlNode value, string fix)
    {
        var displayed = YamlValues.Display(value);
        Error(key, $"{field} \"{displayed}\" is not valid: {fix}{YamlValues.PlaceholderHint(displayed)}");
    }

    /// <summary>Reads a single text value, trimmed, or null when the value is empty or null.</summary>
    public string? ReadText(string field, YamlNode key, YamlNode value, string fix)
    {
        if (YamlValues.IsNull(value))
        {
            return null;
        }

        if (value is not YamlScalarNode scalar)
        {
            Invalid(field, key, value, fix);
            return null;
        }

        var text = scalar.Value?.Trim();
        return string.IsNullOrEmpty(text) ? null : text;
    }

    /// <summary>Reads <c>priority</c> as a non-negative integer or a priority word, or null when empty or invalid.</summary>
    public int? ReadPriority(YamlNode key, YamlNode value)
    {
        if (YamlValues.IsNull(value))
        {
            return null;
        }

        if (value is not YamlScalarNode scalar)
        {
            Invalid(SpecKeys.Priority, key, value, PriorityFix);
            return null;
        }

        var text = StripComment(scalar.Value ?? "");
        if (TryParseInteger(text, out var number) && number >= 0 && number <= int.MaxValue)
        {
            return (int)number;
        }

        if (PriorityWords.TryGetValue(text.ToLowerInvariant(), out var level))
        {
            return level;
        }

        Invalid(SpecKeys.Priority, key, value, PriorityFix);
        return null;
    }

    /// <summary>Reads an integer in [<paramref name="minimum"/>, <paramref name="maximum"/>], or null when empty or invalid.</summary>
    public int? ReadInteger(string field, YamlNode key, YamlNode value, int minimum, int maximum, string fix)
    {
        if (YamlValues.IsNull(value))
        {
            return null;
        }

        if (value is YamlScalarNode scalar
            && TryParseInteger(StripComment(scalar.Value ?? ""), out var number)
            && number >= minimum
            && number <= maximum)
        {
            return (int)number;
        }

        Invalid(field, key, value, fix);
        return null;
    }

    /// <summary>Reads true/false/yes/no in any case, or null when empty or invalid.</summary>
    public bool? ReadBoolean(string field, YamlNode key, YamlNode value)
    {
        if (YamlValues.IsNull(value))
        {
            return null;
        }

        if (value is YamlScalarNode scalar)
        {
            switch (StripComment(scalar.Value ?? "").ToLowerInvariant())
            {
                case "true" or "yes":
                    return true;
                case "false" or "no":
                    return false;
            }
        }

        Invalid(field, key, value, "use true or false (yes and no are accepted too)");
        return null;
    }

    /// <summary>
    /// Reads a list given as a flow list, a block list or one string. Items are
    /// trimmed, empty items are dropped, and items that are lists or mappings
    /// are errors. Duplicates are kept here because they may differ only before
    /// normalisation.
    /// </summary>
    public List<(string Text, YamlNode Node)> ReadList(string field, YamlNode key, YamlNode value, string fix)
    {
        var items = new List<(string Text, YamlNode Node)>();
        switch (value)
        {
            case YamlScalarNode scalar when !YamlValues.IsNull(scalar):
                AddItem(items, scalar.Value, key);
                break;

            case YamlSequenceNode sequence:
                foreach (var item in sequence.Children)
                {
                    if (YamlValues.IsNull(item))
                    {
                        continue;
                    }

                    if (item is YamlScalarNode itemScalar)
                    {
                        AddItem(items, itemScalar.Value, item);
                        continue;
                    }

                    var displayed = YamlValues.Display(item);
                    Error(item, $"{field} item \"{displayed}\" is not valid: {fix}{YamlValues.PlaceholderHint(displayed)}");
                }

                break;

            case YamlMappingNode:
                Invalid(field, key, value, fix);
                break;
        }

        return items;
    }

    private static void AddItem(List<(string Text, YamlNode Node)> items, string? text, YamlNode node)
    {
        var trimmed = text?.Trim();
        if (!string.IsNullOrEmpty(trimmed))
        {
            items.Add((trimmed, node));
        }
    }

    /// <summary>
    /// Removes a trailing <c># comment</c> (a '#' at the start or after
    /// whitespace) and trims. YAML already does this for unquoted values, so
    /// this handles quoted ones such as <c>"high # from the template"</c>.
    /// </summary>
    internal static string StripComment(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '#' && (i == 0 || char.IsWhiteSpace(text[i - 1])))
            {
                return text[..i].Trim();
            }
        }

        return text.Trim();
    }

    private static bool TryParseInteger(string text, out long number)
    {
        number = 0;
        var digits = text.StartsWith('+') || text.StartsWith('-') ? text[1..] : text;
        if (digits.Length == 0 || digits.Length > 18 || !digits.All(char.IsAsciiDigit))
        {
            return false;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);
    }
}
