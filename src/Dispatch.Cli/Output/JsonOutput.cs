using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dispatch.Cli.Output;

/// <summary>The <c>--json</c> format: snake_case names, readable non-ASCII text (Chinese stays Chinese).</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The same format on one line, for streams of records such as events.</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static void Write(TextWriter output, object value) => output.WriteLine(JsonSerializer.Serialize(value, Options));
}
