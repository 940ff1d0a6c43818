namespace Dispatch.Scheduling;

/// <summary>The identity of a task: its project and its task id, unique together.</summary>
public readonly record struct TaskKey(string Project, string TaskId)
{
    public override string ToString() => $"{Project}/{TaskId}";
}
