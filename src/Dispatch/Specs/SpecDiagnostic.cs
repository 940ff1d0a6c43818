namespace Dispatch.Specs;

public enum DiagnosticSeverity
{
    Warning,
    Error,
}

/// <summary>
/// One finding about a spec file: where it is, what is wrong and how to fix it.
/// An error rejects the file; a warning keeps it.
/// </summary>
public sealed record SpecDiagnostic(string Path, int? Line, DiagnosticSeverity Severity, string Message)
{
    public override string ToString()
    {
        var location = Line is int line ? $"{Path}:{line}" : Path;
        var label = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{location}: {label}: {Message}";
    }
}
