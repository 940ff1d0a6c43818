namespace Dispatch.Specs;

/// <summary>The specs found in a directory tree, the files rejected, and the warnings.</summary>
public sealed record SpecLoadResult
{
    public IReadOnlyList<TaskSpec> Specs { get; init; } = [];

    /// <summary>One error per rejected file, plus one for a directory that cannot be read.</summary>
    public IReadOnlyList<SpecDiagnostic> Rejected { get; init; } = [];

    public IReadOnlyList<SpecDiagnostic> Warnings { get; init; } = [];

    /// <summary>Spec files read and parsed. README files and files skipped with a warning are not counted.</summary>
    public int FilesScanned { get; init; }
}
