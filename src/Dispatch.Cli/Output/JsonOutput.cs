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
    };

    public static void Write(TextWriter output, object value) => output.WriteLine(JsonSerializer.Serialize(value, Options));
}
