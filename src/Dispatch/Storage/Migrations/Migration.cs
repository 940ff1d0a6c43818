using System.Reflection;
using System.Text.RegularExpressions;

namespace Dispatch.Storage.Migrations;

/// <summary>One versioned schema script, embedded in the assembly as <c>migrations/DIALECT/NNNN_name.sql</c>.</summary>
public sealed partial record Migration(int Version, string Name, string Sql)
{
    /// <summary>Creates the bookkeeping table; kept outside the numbered scripts so every version can be recorded in it.</summary>
    public const string BookkeepingTable =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);";

    public static IReadOnlyList<Migration> Load(string dialectFolder)
    {
        var assembly = typeof(Migration).Assembly;
        var prefix = $"migrations/{dialectFolder}/";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[prefix.Length..];
            var match = FileNamePattern().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException($"embedded migration {resource} does not match NNNN_name.sql");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(int.Parse(match.Groups[1].Value), match.Groups[2].Value, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileNamePattern();
}
