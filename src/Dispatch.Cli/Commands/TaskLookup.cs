using Dispatch.Storage;

namespace Dispatch.Cli.Commands;

internal static class TaskLookup
{
    /// <summary>Finds exactly one task by <c>project/task_id</c> or a bare task id; otherwise a clear error.</summary>
    public static async Task<TaskRow> FindOneAsync(IDispatchStore store, string reference, CancellationToken cancellationToken)
    {
        var matches = await store.FindTasksAsync(reference.Trim(), cancellationToken);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CliException($"task \"{reference}\" not found: check the id with 'dispatch status', or write it as PROJECT/TASK_ID."),
            _ => throw new CliException(
                $"task id \"{reference}\" exists in several projects ({string.Join(", ", matches.Select(m => m.Project))}): write it as PROJECT/{reference}."),
        };
    }
}
