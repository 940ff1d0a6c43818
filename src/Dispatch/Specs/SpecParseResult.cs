namespace Dispatch.Specs;

/// <summary>
/// The outcome of parsing one spec file: a <see cref="TaskSpec"/> or the error
/// that rejects the file, plus warnings either way.
/// </summary>
public sealed record SpecParseResult
{
    public TaskSpec? Spec { get; init; }

    /// <summary>The first error in line order, or null when the file is a valid spec.</summary>
    public SpecDiagnostic? Error { get; init; }

    /// <summary>Every error found, in line order. <see cref="Error"/> is the first of them.</summary>
    public IReadOnlyList<SpecDiagnostic> Errors { get; init; } = [];

    public IReadOnlyList<SpecDiagnostic> Warnings { get; init; } = [];

    /// <summary>The 1-based line of the <c>task_id</c> key, when the file has one.</summary>
    public int? TaskIdLine { get; init; }

    public bool Succeeded => Spec is not null;
}
