using Dispatch.Scheduling;

namespace Dispatch.Storage;

/// <summary>Defaults applied to specs that leave a field to configuration.</summary>
public sealed record ImportDefaults(string Executor, int MaxRetries);

/// <summary>What one import did, file by file counted once.</summary>
public sealed record ImportSummary
{
    public int Imported { get; init; }
    public int Updated { get; init; }
    public int Unchanged { get; init; }

    /// <summary>Changed files whose task had already completed: reported and left alone.</summary>
    public IReadOnlyList<TaskKey> CompletedChanged { get; init; } = [];

    /// <summary>Changed files whose task is claimed or running: left for a later import, after the attempt ends.</summary>
    public IReadOnlyList<TaskKey> InFlightChanged { get; init; } = [];

    public int Blocked { get; init; }
    public int Unblocked { get; init; }
}

/// <summary>The identity a worker claims with and fences every later write on.</summary>
public sealed record Lease(long TaskPk, TaskKey Key, int Attempt, string Owner, string Node);

/// <summary>A claimed task: its lease plus what the worker needs to run it.</summary>
public sealed record ClaimedTask(
    Lease Lease,
    string Executor,
    TimeSpan Timeout,
    IReadOnlyList<string> Modifies,
    string SpecContent,
    string SpecPath);

/// <summary>The parameters of one claim: the worker's identity, the executors it offers and the lease length.</summary>
public sealed record ClaimRequest(string Owner, string Node, IReadOnlyList<string> Executors, bool AnyExecutor, TimeSpan LeaseTtl);

/// <summary>How an attempt ended.</summary>
public sealed record RunResult(bool Succeeded, int? ExitCode, string? Error, string? LogPath);

public sealed record NodeRegistration(string Name, string WorkerId, int Slots, IReadOnlyList<string> Executors, string Version);

public sealed record StateCount
{
    public string Project { get; init; } = "";
    public string State { get; init; } = "";
    public long Count { get; init; }
}

public sealed record TaskRow
{
    public long Id { get; init; }
    public string Project { get; init; } = "";
    public string TaskId { get; init; } = "";
    public string State { get; init; } = "";
    public string? BlockedReason { get; init; }
    public int Priority { get; init; }
    public int EstimatedMinutes { get; init; }
    public int TimeoutSeconds { get; init; }
    public string DependsOn { get; init; } = "[]";
    public string Modifies { get; init; } = "[]";
    public bool Exclusive { get; init; }
    public string Executor { get; init; } = "";
    public int MaxRetries { get; init; }
    public string SpecPath { get; init; } = "";
    public string SpecHash { get; init; } = "";
    public int Attempt { get; init; }
    public int RetryBase { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public string? Node { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    public TaskKey Key => new(Project, TaskId);
}

public sealed record AttemptRow
{
    public int Attempt { get; init; }
    public string LeaseOwner { get; init; } = "";
    public string Node { get; init; } = "";
    public DateTimeOffset ClaimedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Outcome { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public string? LogPath { get; init; }
}

public sealed record EventRow
{
    public long Id { get; init; }
    public DateTimeOffset At { get; init; }
    public string? Project { get; init; }
    public string? TaskId { get; init; }
    public string Type { get; init; } = "";
    public string? Node { get; init; }
    public int? Attempt { get; init; }
    public string Details { get; init; } = "{}";
}

public sealed record NodeRow
{
    public string Name { get; init; } = "";
    public string State { get; init; } = "";
    public int Slots { get; init; }
    public string Executors { get; init; } = "[]";
    public string Version { get; init; } = "";
    public string? WorkerId { get; init; }
    public int RunningCount { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset HeartbeatAt { get; init; }
}

public sealed record EventQuery(TaskKey? Task = null, long AfterId = 0, int Limit = 1000);

/// <summary>The outcome of an operator command on one task.</summary>
public enum OperatorOutcome
{
    Done,
    NotFound,
    WrongState,
}
