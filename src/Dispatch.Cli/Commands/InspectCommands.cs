using System.CommandLine;
using System.Globalization;
using Dispatch.Cli.Output;
using Dispatch.Storage;

namespace Dispatch.Cli.Commands;

/// <summary>Read-only commands: status, show, logs, events, nodes.</summary>
internal static class InspectCommands
{
    public static Command Status(CliContext context)
    {
        var project = new Argument<string?>("PROJECT") { Description = "Show only this project", Arity = ArgumentArity.ZeroOrOne };
        var json = ImportCommands.JsonOption();
        var command = new Command("status", "Count tasks per state, then list them") { project, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var name = parse.GetValue(project);
            var counts = await store.CountByStateAsync(name, cancellationToken);
            var tasks = await store.ListTasksAsync(name, cancellationToken);
            if (name is not null && tasks.Count == 0)
            {
                throw new CliException($"project \"{name}\" has no tasks: check the name with 'dispatch status'.");
            }

            var totals = TaskStates.All.ToDictionary(s => s, s => counts.Where(c => c.State == s).Sum(c => c.Count));
            if (parse.GetValue(json))
            {
                JsonOutput.Write(context.Out, new
                {
                    counts = totals,
                    tasks = tasks.Select(t => new
                    {
                        t.Project, t.TaskId, t.State, t.Priority, t.Attempt, t.Node, t.Executor, t.BlockedReason, t.LastError, t.UpdatedAt,
                    }),
                });
                return ExitCodes.Success;
            }

            context.Out.WriteLine(string.Join("  ", totals.Select(kv => $"{kv.Key} {kv.Value}")) + $"  (total {tasks.Count})");
            context.Out.WriteLine();
            var table = new Table("PROJECT", "TASK", "STATE", "PRI", "ATTEMPT", "NODE", "REASON");
            foreach (var task in tasks)
            {
                table.Add(task.Project, task.TaskId, task.State, task.Priority.ToString(CultureInfo.InvariantCulture),
                    task.Attempt.ToString(CultureInfo.InvariantCulture), task.Node, task.BlockedReason ?? task.LastError);
            }

            table.Write(context.Out);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Show(CliContext context)
    {
        var task = new Argument<string>("TASK") { Description = "PROJECT/TASK_ID, or TASK_ID when it is unique" };
        var json = ImportCommands.JsonOption();
        var command = new Command("show", "Show one task: fields, dependencies, attempts and recent events") { task, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var row = await TaskLookup.FindOneAsync(store, parse.GetValue(task)!, cancellationToken);
            var dependencies = await store.GetDependenciesAsync(row.Id, cancellationToken);
            var attempts = await store.GetAttemptsAsync(row.Id, cancellationToken);
            var events = await store.GetEventsAsync(new EventQuery(row.Key), cancellationToken);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(context.Out, new { task = row, dependencies = dependencies.Select(d => d.ToString()), attempts, events = events.Select(EventJson) });
                return ExitCodes.Success;
            }

            var o = context.Out;
            o.WriteLine($"task        {row.Key}");
            o.WriteLine($"state       {row.State}{(row.BlockedReason is null ? "" : $" ({row.BlockedReason})")}");
            o.WriteLine($"priority    {row.Priority}");
            o.WriteLine($"executor    {row.Executor}");
            o.WriteLine($"attempt     {row.Attempt} (max retries {row.MaxRetries})");
            o.WriteLine($"timeout     {row.TimeoutSeconds / 60.0:0.#} min (estimate {row.EstimatedMinutes} min)");
            o.WriteLine($"exclusive   {(row.Exclusive ? "yes" : "no")}");
            o.WriteLine($"depends on  {(dependencies.Count == 0 ? "-" : string.Join(", ", dependencies))}  (as written: {row.DependsOn})");
            o.WriteLine($"modifies    {row.Modifies}");
            o.WriteLine($"spec        {row.SpecPath}");
            if (row.LastError is not null)
            {
                o.WriteLine($"last error  {row.LastError}");
            }

            o.WriteLine();
            var attemptTable = new Table("ATTEMPT", "NODE", "CLAIMED", "FINISHED", "OUTCOME", "EXIT", "ERROR");
            foreach (var a in attempts)
            {
                attemptTable.Add(a.Attempt.ToString(CultureInfo.InvariantCulture), a.Node, Time(a.ClaimedAt), Time(a.FinishedAt), a.Outcome,
                    a.ExitCode?.ToString(CultureInfo.InvariantCulture), a.Error);
            }

            attemptTable.Write(o);
            o.WriteLine();
            WriteEvents(o, events.TakeLast(20));
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Logs(CliContext context)
    {
        var task = new Argument<string>("TASK") { Description = "PROJECT/TASK_ID, or TASK_ID when it is unique" };
        var attempt = new Option<int?>("--attempt") { Description = "Show this attempt instead of the latest" };
        var command = new Command("logs", "Print the executor output of a task's latest (or chosen) attempt") { task, attempt };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var row = await TaskLookup.FindOneAsync(store, parse.GetValue(task)!, cancellationToken);
            var attempts = await store.GetAttemptsAsync(row.Id, cancellationToken);
            var requested = parse.GetValue(attempt);
            var chosen = requested is int n ? attempts.FirstOrDefault(a => a.Attempt == n) : attempts.LastOrDefault(a => a.LogPath is not null);
            if (chosen is null)
            {
                throw new CliException(requested is int missing
                    ? $"task {row.Key} has no attempt {missing}: it has {attempts.Count}."
                    : $"task {row.Key} has no log yet: it has not started ({row.State}).");
            }

            if (chosen.LogPath is null || !File.Exists(chosen.LogPath))
            {
                throw new CliException($"the log of {row.Key} attempt {chosen.Attempt} is not on this machine (node {chosen.Node}, path {chosen.LogPath ?? "none"}).");
            }

            await using var stream = new FileStream(chosen.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            context.Out.Write(await reader.ReadToEndAsync(cancellationToken));
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Events(CliContext context)
    {
        var task = new Option<string?>("--task") { Description = "Only this task (PROJECT/TASK_ID or a unique TASK_ID)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until interrupted" };
        var limit = new Option<int>("--limit") { Description = "Print at most this many of the latest events", DefaultValueFactory = _ => 100 };
        var json = ImportCommands.JsonOption();
        var command = new Command("events", "Print the event history") { task, follow, limit, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            Dispatch.Scheduling.TaskKey? key = null;
            if (parse.GetValue(task) is string reference)
            {
                key = (await TaskLookup.FindOneAsync(store, reference, cancellationToken)).Key;
            }

            var max = parse.GetValue(limit);
            if (max <= 0)
            {
                throw new CliException($"--limit {max} is not valid: use a positive number.", ExitCodes.Usage);
            }

            var events = new List<EventRow>();
            long after = 0;
            while (true)
            {
                var page = await store.GetEventsAsync(new EventQuery(key, after, 5000), cancellationToken);
                events.AddRange(page);
                if (page.Count < 5000)
                {
                    break;
                }

                after = page[^1].Id;
            }

            var shown = events.TakeLast(max).ToList();
            Print(shown);
            after = events.Count > 0 ? events[^1].Id : 0;
            while (parse.GetValue(follow))
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                var fresh = await store.GetEventsAsync(new EventQuery(key, after), cancellationToken);
                if (fresh.Count > 0)
                {
                    after = fresh[^1].Id;
                    Print(fresh);
                }
            }

            return ExitCodes.Success;

            void Print(IReadOnlyList<EventRow> rows)
            {
                if (parse.GetValue(json))
                {
                    foreach (var row in rows)
                    {
                        context.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(EventJson(row), JsonOutput.Compact));
                    }
                }
                else
                {
                    WriteEvents(context.Out, rows, header: !parse.GetValue(follow) || after == 0);
                }
            }
        }));
        return command;
    }

    public static Command Nodes(CliContext context)
    {
        var json = ImportCommands.JsonOption();
        var command = new Command("nodes", "List worker nodes: state, slots, running tasks, executors, last heartbeat") { json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var nodes = await store.ListNodesAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(context.Out, nodes);
                return ExitCodes.Success;
            }

            var table = new Table("NODE", "STATE", "SLOTS", "RUNNING", "VERSION", "HEARTBEAT", "EXECUTORS");
            foreach (var node in nodes)
            {
                table.Add(node.Name, node.State, node.Slots.ToString(CultureInfo.InvariantCulture), node.RunningCount.ToString(CultureInfo.InvariantCulture),
                    node.Version, Time(node.HeartbeatAt), node.Executors);
            }

            table.Write(context.Out);
            return ExitCodes.Success;
        }));

        var name = new Argument<string>("NODE") { Description = "Name of the quarantined node" };
        var release = new Command("release", "Release a quarantined node so it claims tasks again") { name };
        release.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            await using var store = await context.OpenExistingStoreAsync(cancellationToken);
            var node = parse.GetValue(name)!;
            var released = await store.ReleaseQuarantineAsync(node, TimeSpan.Zero, cancellationToken);
            if (released.Count == 0)
            {
                var known = (await store.ListNodesAsync(cancellationToken)).FirstOrDefault(n => n.Name == node);
                throw new CliException(known is null
                    ? $"node \"{node}\" not found: check the name with 'dispatch nodes'."
                    : $"node {node} is {known.State}, not quarantined: nothing to release.");
            }

            context.Out.WriteLine($"{node}: released from quarantine");
            return ExitCodes.Success;
        }));
        command.Subcommands.Add(release);
        return command;
    }

    /// <summary>An event for --json, with its details as a JSON object rather than a string.</summary>
    private static object EventJson(EventRow row) => new
    {
        row.Id, row.At, row.Project, row.TaskId, row.Type, row.Node, row.Attempt,
        Details = System.Text.Json.JsonDocument.Parse(row.Details).RootElement,
    };

    private static void WriteEvents(TextWriter output, IEnumerable<EventRow> events, bool header = true)
    {
        var table = new Table("ID", "TIME", "TYPE", "TASK", "NODE", "ATTEMPT", "DETAILS");
        foreach (var e in events)
        {
            table.Add(e.Id.ToString(CultureInfo.InvariantCulture), Time(e.At), e.Type,
                e.TaskId is null ? null : $"{e.Project}/{e.TaskId}", e.Node, e.Attempt?.ToString(CultureInfo.InvariantCulture), e.Details);
        }

        var writer = new StringWriter();
        table.Write(writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in header ? lines : lines.Skip(1))
        {
            output.WriteLine(line);
        }
    }

    internal static string Time(DateTimeOffset? time) =>
        time?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";
}
