namespace Dispatch.Storage;

/// <summary>A task moved by a maintenance statement, as returned for logging.</summary>
public sealed class AffectedTask
{
    public long Id { get; init; }
    public string Project { get; init; } = "";
    public string TaskId { get; init; } = "";
    public int Attempt { get; init; }
    public string? Node { get; init; }
    public string? LeaseOwner { get; init; }
    public string? Reason { get; init; }
}

/// <summary>A failed task waiting for the reaper's decision: retry later, or dead-letter.</summary>
public sealed class FailedTask
{
    public long Id { get; init; }
    public string Project { get; init; } = "";
    public string TaskId { get; init; } = "";
    public int Attempt { get; init; }
    public int RetryBase { get; init; }
    public int MaxRetries { get; init; }
    public string? LastError { get; init; }

    /// <summary>Attempts made since the last operator retry.</summary>
    public int AttemptsUsed => Attempt - RetryBase;

    public bool HasRetriesLeft => AttemptsUsed <= MaxRetries;
}

/// <summary>What one blocking pass changed.</summary>
public sealed record BlockingChanges(IReadOnlyList<AffectedTask> Blocked, IReadOnlyList<AffectedTask> Unblocked);
