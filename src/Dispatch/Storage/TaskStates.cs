namespace Dispatch.Storage;

/// <summary>The task states, as stored in <c>tasks.state</c>.</summary>
public static class TaskStates
{
    public const string Pending = "pending";
    public const string Blocked = "blocked";
    public const string Claimed = "claimed";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string DeadLetter = "deadletter";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All =
        [Pending, Blocked, Claimed, Running, Completed, Failed, DeadLetter, Cancelled];

    public static bool IsTerminal(string state) => state is Completed or DeadLetter or Cancelled;
}

/// <summary>Why a task is blocked, as stored in <c>tasks.blocked_kind</c>.</summary>
public static class BlockedKinds
{
    /// <summary>The dependency graph itself: an unknown or ambiguous reference, a cycle, or a blocked dependency.</summary>
    public const string Graph = "graph";

    /// <summary>A dependency is dead-lettered, cancelled or itself blocked; set and cleared by the guardian.</summary>
    public const string Dependency = "dependency";
}
