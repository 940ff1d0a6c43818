using System.CommandLine;
using Dispatch.Storage;

namespace Dispatch.Cli.Commands;

/// <summary><c>retry</c> and <c>cancel</c>: the operator's transitions.</summary>
internal static class OperatorCommands
{
    public static Command Retry(CliContext context) => Create(
        context, "retry", "Bring a failed, dead-lettered, cancelled or blocked task back to pending with a fresh retry budget",
        (store, pk, ct) => store.RetryAsync(pk, ct), "retried", "failed, deadletter, cancelled or blocked");

    public static Command Cancel(CliContext context) => Create(
        context, "cancel", "Cancel a task that has not finished; a running executor is killed at its next heartbeat",
        (store, pk, ct) => store.CancelAsync(pk, ct), "cancelled", "pending, blocked, claimed, running or failed");

    private static Command Create(
        CliContext context, string name, string description,
        Func<IDispatchStore, long, CancellationToken, Task<OperatorOutcome>> apply, string done, string allowedStates)
    {
        var task = new Argument<string>("TASK") { Description = "PROJECT/TASK_ID, or TASK_ID when it is unique" };
        var command = new Command(name, description) { task };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var row = await TaskLookup.FindOneAsync(store, parse.GetValue(task)!, cancellationToken);
            var outcome = await apply(store, row.Id, cancellationToken);
            switch (outcome)
            {
                case OperatorOutcome.Done:
                    var now = (await store.FindTasksAsync(row.Key.ToString(), cancellationToken)).FirstOrDefault();
                    if (now is { State: TaskStates.Blocked })
                    {
                        throw new CliException($"{row.Key}: {done}, but it is blocked again: {now.BlockedReason}");
                    }

                    context.Out.WriteLine($"{row.Key}: {done}");
                    return ExitCodes.Success;
                case OperatorOutcome.NotFound:
                    throw new CliException($"task {row.Key} was deleted meanwhile.");
                default:
                    var current = (await store.FindTasksAsync(row.Key.ToString(), cancellationToken)).FirstOrDefault()?.State ?? row.State;
                    throw new CliException($"task {row.Key} is {current}: {name} applies only to a task that is {allowedStates}.");
            }
        }));
        return command;
    }
}
