namespace Dispatch.Specs;

/// <summary>
/// A parsed, validated task spec: the front-matter fields after defaults and
/// normalisation, plus the file it came from.
/// </summary>
public sealed record TaskSpec
{
    public required string Project { get; init; }
    public required string TaskId { get; init; }

    /// <summary>Lower runs first; 0 is the most urgent.</summary>
    public int Priority { get; init; } = SpecDefaults.Priority;

    public int EstimatedMinutes { get; init; } = SpecDefaults.EstimatedMinutes;

    /// <summary>Explicit <c>timeout_minutes</c>, or null to derive the timeout from the estimate.</summary>
    public int? TimeoutMinutes { get; init; }

    /// <summary>Dependency references as written (trimmed): a task id, a unique id prefix, or <c>project/task_id</c>.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    /// <summary>Normalised repository-relative paths this task may change.</summary>
    public IReadOnlyList<string> Modifies { get; init; } = [];

    public bool Exclusive { get; init; }

    /// <summary>Executor name, or null to use the configured default.</summary>
    public string? Executor { get; init; }

    /// <summary>Retries after the first attempt, or null to use the configured default.</summary>
    public int? MaxRetries { get; init; }

    /// <summary>Front-matter keys Dispatch does not interpret, as JSON text per key.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The Markdown body after the front-matter: the prompt given to the executor.</summary>
    public required string Body { get; init; }

    /// <summary>The whole file as text, BOM removed; the worker hands a copy of it to the executor.</summary>
    public required string Content { get; init; }

    public required string SourcePath { get; init; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes; the re-import key.</summary>
    public required string ContentHash { get; init; }

    /// <summary>The run timeout: <c>timeout_minutes</c> if given, else 3 × estimate clamped to 10 min … 4 h.</summary>
    public TimeSpan Timeout => TimeoutMinutes is int minutes
        ? TimeSpan.FromMinutes(minutes)
        : TimeSpan.FromMinutes(Math.Clamp(3 * EstimatedMinutes, 10, 240));
}

public static class SpecDefaults
{
    public const int Priority = 2;
    public const int EstimatedMinutes = 30;
    public const int MaxRetries = 3;
}
