namespace Dispatch.Specs;

/// <summary>
/// The character rule shared by task ids, project names and executor names:
/// 1–128 characters of <c>[A-Za-z0-9._-]</c>, not starting with '.'.
/// </summary>
public static class SpecNames
{
    public const int MaxLength = 128;

    /// <summary>The rule in words, for the "how to fix it" half of a message.</summary>
    public const string RuleText = "use 1–128 characters from A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.'";

    public static bool IsValid(string? name) => Describe(name) is null;

    /// <summary>
    /// Returns why <paramref name="name"/> breaks the rule (for example
    /// <c>it contains ' '</c>), or null when the name is valid.
    /// </summary>
    public static string? Describe(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "it is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"it is {name.Length} characters long, more than {MaxLength}";
        }

        if (name[0] == '.')
        {
            return "it starts with '.'";
        }

        foreach (var rune in name.EnumerateRunes())
        {
            if (!IsAllowed(rune))
            {
                return $"it contains {DescribeCharacter(rune)}";
            }
        }

        return null;
    }

    private static bool IsAllowed(System.Text.Rune rune)
    {
        var value = rune.Value;
        return value is >= 'A' and <= 'Z'
            or >= 'a' and <= 'z'
            or >= '0' and <= '9'
            or '.' or '_' or '-';
    }

    private static string DescribeCharacter(System.Text.Rune rune)
    {
        if (System.Text.Rune.IsControl(rune) || System.Text.Rune.IsWhiteSpace(rune) && rune.Value != ' ')
        {
            return $"the control or space character U+{rune.Value:X4}";
        }

        return $"'{rune}'";
    }
}
