using Dispatch.Specs;

namespace Dispatch.Scheduling;

/// <summary>A task and its <c>depends_on</c> references as written in its spec.</summary>
public sealed record TaskDependencies(TaskKey Key, IReadOnlyList<string> DependsOn)
{
    public static TaskDependencies FromSpec(TaskSpec spec) => new(new TaskKey(spec.Project, spec.TaskId), spec.DependsOn);
}

/// <summary>
/// The resolved dependencies of one task, and why it is blocked (null when it
/// is not). Dependencies that resolved are listed even for a blocked task.
/// </summary>
public sealed record DependencyResolution(IReadOnlyList<TaskKey> Dependencies, string? BlockedReason)
{
    public bool IsBlocked => BlockedReason is not null;
}

/// <summary>
/// Resolves <c>depends_on</c> references to task keys and finds the tasks the
/// graph itself blocks: unknown or ambiguous references, dependency cycles,
/// and every task that depends, directly or through others, on a blocked task.
/// </summary>
/// <remarks>
/// A reference with a '/' is <c>project/task_id</c> (split at the last '/'),
/// otherwise a task id in the task's own project. An exact id wins. Otherwise
/// a reference that is the prefix of exactly one id followed by '-' resolves
/// to it (<c>B02</c> → <c>B02-listmonk</c>). The result does not depend on the
/// order of <c>tasks</c>, so the same graph always gives the same reasons.
/// Runs in O((tasks + references) × log tasks), without recursion.
/// </remarks>
public static class DependencyResolver
{
    /// <summary>Cyclic groups up to this size get the shortest cycle through each member, and larger ones share one example cycle.</summary>
    private const int MaxGroupForPerTaskCycle = 100;

    private const int MaxCycleTasksShown = 12;

    private const int MaxCandidatesShown = 5;

    /// <exception cref="ArgumentException">Two entries of <paramref name="tasks"/> have the same key.</exception>
    public static IReadOnlyDictionary<TaskKey, DependencyResolution> Resolve(IReadOnlyCollection<TaskDependencies> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);

        var graph = DependencyGraph.Build(tasks);
        var count = graph.Keys.Length;

        var reasons = new string?[count];
        for (var node = 0; node < count; node++)
        {
            reasons[node] = DescribeProblems(graph.Problems[node]);
        }

        MarkCycles(graph, reasons);
        var direct = reasons.Select(reason => reason is not null).ToArray();
        PropagateBlocks(graph, reasons, direct);

        var results = new Dictionary<TaskKey, DependencyResolution>(count);
        for (var node = 0; node < count; node++)
        {
            var dependencies = graph.Edges[node].Select(edge => graph.Keys[edge]).ToArray();
            results[graph.Keys[node]] = new DependencyResolution(dependencies, reasons[node]);
        }

        return results;
    }

    /// <summary>Blocks every task on a dependency cycle, with the cycle in its reason.</summary>
    private static void MarkCycles(DependencyGraph graph, string?[] reasons)
    {
        var components = StronglyConnectedComponents.Find(graph.Edges);
        var finder = new CycleFinder(graph.Edges, components.ComponentOf);

        foreach (var members in components.Members)
        {
            var isCycle = members.Count > 1 || graph.Edges[members[0]].Contains(members[0]);
            if (!isCycle)
            {
                continue;
            }

            string? sharedReason = null;
            if (members.Count > MaxGroupForPerTaskCycle)
            {
                // Members are in ascending order, so the example is stable.
                var example = FormatCycle(finder.ShortestCycleThrough(members[0]), graph.Keys);
                sharedReason = $"on a dependency cycle: {members.Count} tasks depend on each other, for example {example}";
            }

            foreach (var member in members)
            {
                var reason = sharedReason ?? $"dependency cycle: {FormatCycle(finder.ShortestCycleThrough(member), graph.Keys)}";
                reasons[member] = reasons[member] is null ? reason : $"{reason}; {reasons[member]}";
            }
        }
    }

    /// <summary>
    /// Blocks every task that depends on a blocked task. The reason names the
    /// first blocked dependency in the task's own list and, when that one is
    /// only blocked through others, the task where the block starts.
    /// </summary>
    private static void PropagateBlocks(DependencyGraph graph, string?[] reasons, bool[] direct)
    {
        var count = graph.Keys.Length;
        var dependents = new List<int>[count];
        for (var node = 0; node < count; node++)
        {
            dependents[node] = [];
        }

        for (var node = 0; node < count; node++)
        {
            foreach (var dependency in graph.Edges[node])
            {
                dependents[dependency].Add(node);
            }
        }

        var blocked = (bool[])direct.Clone();
        var queue = new Queue<int>();
        for (var node = 0; node < count; node++)
        {
            if (blocked[node])
            {
                queue.Enqueue(node);
            }
        }

        while (queue.Count > 0)
        {
            foreach (var dependent in dependents[queue.Dequeue()])
            {
                if (!blocked[dependent])
                {
                    blocked[dependent] = true;
                    queue.Enqueue(dependent);
                }
            }
        }

        // Follows "first blocked dependency" links to the task where each block
        // starts. The links cannot loop, because tasks on a cycle are blocked directly.
        var origin = new int[count];
        Array.Fill(origin, -1);
        var chain = new List<int>();
        for (var node = 0; node < count; node++)
        {
            if (!blocked[node] || direct[node])
            {
                continue;
            }

            chain.Clear();
            var current = node;
            while (!direct[current] && origin[current] < 0)
            {
                chain.Add(current);
                current = graph.Edges[current].First(dependency => blocked[dependency]);
            }

            var start = direct[current] ? current : origin[current];
            foreach (var link in chain)
            {
                origin[link] = start;
            }
        }

        for (var node = 0; node < count; node++)
        {
            if (!blocked[node] || direct[node])
            {
                continue;
            }

            var dependency = graph.Edges[node].First(edge => blocked[edge]);
            var reason = $"dependency \"{graph.Keys[dependency]}\" is blocked";
            if (!direct[dependency])
            {
                reason += $", because it waits on blocked task \"{graph.Keys[origin[node]]}\"";
            }

            reasons[node] = reason;
        }
    }

    /// <summary>Describes unresolved references: the full sentence for one, a combined sentence for several, null for none.</summary>
    private static string? DescribeProblems(List<ReferenceProblem> problems) => problems.Count switch
    {
        0 => null,
        1 => problems[0].Sentence,
        _ => $"{problems.Count} dependencies cannot be resolved: {string.Join("; ", problems.Select(problem => problem.Clause))}. "
            + "Write each as a full task id or project/task_id, or import the specs that define them",
    };

    private static string FormatCycle(IReadOnlyList<int> cycle, TaskKey[] keys)
    {
        // The cycle lists each task once, so the first task is appended to close the loop.
        var names = cycle.Count <= MaxCycleTasksShown
            ? cycle.Select(node => keys[node].ToString())
            : cycle.Take(MaxCycleTasksShown - 1).Select(node => keys[node].ToString())
                .Append($"… ({cycle.Count - MaxCycleTasksShown + 1} more)");
        return string.Join(" → ", names.Append(keys[cycle[0]].ToString()));
    }

    /// <summary>An unresolved reference: a full sentence when it is the only one, and a clause for a list of several.</summary>
    private sealed record ReferenceProblem(string Sentence, string Clause);

    /// <summary>
    /// The graph with references resolved: tasks sorted by key so results do
    /// not depend on input order, edges per task in reference order.
    /// </summary>
    private sealed class DependencyGraph
    {
        public required TaskKey[] Keys { get; init; }

        public required List<int>[] Edges { get; init; }

        public required List<ReferenceProblem>[] Problems { get; init; }

        public static DependencyGraph Build(IReadOnlyCollection<TaskDependencies> tasks)
        {
            var ordered = tasks
                .OrderBy(task => task.Key.Project, StringComparer.Ordinal)
                .ThenBy(task => task.Key.TaskId, StringComparer.Ordinal)
                .ToArray();

            var indexOf = new Dictionary<TaskKey, int>(ordered.Length);
            for (var node = 0; node < ordered.Length; node++)
            {
                if (!indexOf.TryAdd(ordered[node].Key, node))
                {
                    throw new ArgumentException($"task \"{ordered[node].Key}\" appears more than once: pass each task once", nameof(tasks));
                }
            }

            // Ids per project in ordinal order: ordered is sorted by project then id.
            var idsByProject = ordered
                .GroupBy(task => task.Key.Project, StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.Select(task => task.Key.TaskId).ToArray(), StringComparer.Ordinal);

            var graph = new DependencyGraph
            {
                Keys = ordered.Select(task => task.Key).ToArray(),
                Edges = new List<int>[ordered.Length],
                Problems = new List<ReferenceProblem>[ordered.Length],
            };

            for (var node = 0; node < ordered.Length; node++)
            {
                var edges = new List<int>();
                var problems = new List<ReferenceProblem>();
                foreach (var reference in ordered[node].DependsOn ?? [])
                {
                    var trimmed = reference?.Trim();
                    if (string.IsNullOrEmpty(trimmed))
                    {
                        continue;
                    }

                    var target = ResolveReference(trimmed, ordered[node].Key.Project, indexOf, idsByProject, out var problem);
                    if (problem is not null)
                    {
                        problems.Add(problem);
                    }
                    else if (!edges.Contains(target))
                    {
                        edges.Add(target);
                    }
                }

                graph.Edges[node] = edges;
                graph.Problems[node] = problems;
            }

            return graph;
        }

        private static int ResolveReference(string reference, string ownProject, Dictionary<TaskKey, int> indexOf,
            Dictionary<string, string[]> idsByProject, out ReferenceProblem? problem)
        {
            problem = null;
            var slash = reference.LastIndexOf('/');
            var project = slash < 0 ? ownProject : reference[..slash];
            var id = slash < 0 ? reference : reference[(slash + 1)..];

            if (project.Length == 0 || id.Length == 0)
            {
                problem = new ReferenceProblem(
                    $"dependency \"{reference}\" is not a task reference: write task_id or project/task_id",
                    $"\"{reference}\" is not a task reference");
                return -1;
            }

            if (indexOf.TryGetValue(new TaskKey(project, id), out var exact))
            {
                return exact;
            }

            if (!idsByProject.TryGetValue(project, out var ids))
            {
                problem = new ReferenceProblem(
                    $"unknown dependency \"{reference}\": project \"{project}\" has no tasks; check the project name or import its specs",
                    $"\"{reference}\" names project \"{project}\", which has no tasks");
                return -1;
            }

            // Every id starting with "id-" sorts between "id-" and "id." because '.' follows '-'.
            var first = LowerBound(ids, id + "-");
            var end = LowerBound(ids, id + ".");
            var matches = end - first;
            if (matches == 1)
            {
                return indexOf[new TaskKey(project, ids[first])];
            }

            if (matches == 0)
            {
                problem = new ReferenceProblem(
                    $"unknown dependency \"{reference}\": project \"{project}\" has no task \"{id}\" and no task id starting with \"{id}-\"; fix the reference or import the spec that defines it",
                    $"\"{reference}\" matches no task id");
                return -1;
            }

            var listed = ids.Skip(first).Take(Math.Min(matches, MaxCandidatesShown)).Select(candidate => $"\"{candidate}\"");
            var more = matches > MaxCandidatesShown ? $" and {matches - MaxCandidatesShown} more" : "";
            var candidates = $"{string.Join(", ", listed)}{more}";
            problem = new ReferenceProblem(
                $"dependency \"{reference}\" is ambiguous: it is the prefix of {matches} task ids in project \"{project}\" ({candidates}); write the full task id",
                $"\"{reference}\" is ambiguous ({candidates})");
            return -1;
        }

        private static int LowerBound(string[] sorted, string value)
        {
            int low = 0, high = sorted.Length;
            while (low < high)
            {
                var middle = low + (high - low) / 2;
                if (string.CompareOrdinal(sorted[middle], value) < 0)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low;
        }
    }
}
