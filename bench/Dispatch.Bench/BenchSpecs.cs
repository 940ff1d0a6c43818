using System.Security.Cryptography;
using System.Text;
using Dispatch.Specs;

namespace Dispatch.Bench;

/// <summary>Task specs built in code, shaped like the parser's output, so imports skip the file system.</summary>
internal static class BenchSpecs
{
    private const string Body = "## Goal\nDo nothing; this task exists to measure the store.\n";

    /// <summary>
    /// Builds <paramref name="count"/> no-op specs with no dependencies and no
    /// <c>modifies</c>, spread round-robin over <paramref name="projects"/>
    /// projects named <c>bench-00</c>, <c>bench-01</c> and so on.
    /// </summary>
    public static IReadOnlyList<TaskSpec> Independent(int count, int projects) =>
        Enumerable.Range(0, count).Select(index => Spec(ProjectName(index % projects), TaskId(index / projects), [], [], SpecDefaults.Priority)).ToList();

    public static string ProjectName(int number) => $"bench-{number:D2}";

    /// <summary>
    /// Builds <paramref name="count"/> specs spread round-robin over <paramref name="projects"/> projects.
    /// Within a project, every third task depends on the task before it and
    /// every tenth also on the task two before, so about 40 % of the tasks
    /// have a dependency. Each task modifies one file of its own, so no two
    /// tasks conflict, and the priority cycles through 0 to 3.
    /// </summary>
    public static IReadOnlyList<TaskSpec> WithDependencies(int count, int projects)
    {
        var specs = new List<TaskSpec>(count);
        for (var index = 0; index < count; index++)
        {
            var project = ProjectName(index % projects);
            var position = index / projects;
            var dependsOn = new List<string>();
            if (position % 3 == 2)
            {
                dependsOn.Add(TaskId(position - 1));
            }

            if (position % 10 == 9)
            {
                dependsOn.Add(TaskId(position - 2));
            }

            specs.Add(Spec(project, TaskId(position), dependsOn, [$"src/module-{position}.py"], position % 4));
        }

        return specs;
    }

    private static string TaskId(int position) => $"T{position:D6}";

    private static TaskSpec Spec(string project, string id, IReadOnlyList<string> dependsOn, IReadOnlyList<string> modifies, int priority)
    {
        var text = new StringBuilder()
            .Append("---\n")
            .Append($"task_id: {id}\n")
            .Append($"project: {project}\n")
            .Append($"priority: {priority}\n")
            .Append($"depends_on: {FlowList(dependsOn)}\n")
            .Append($"modifies: {FlowList(modifies)}\n")
            .Append("---\n")
            .Append(Body)
            .ToString();

        return new TaskSpec
        {
            Project = project,
            TaskId = id,
            Priority = priority,
            DependsOn = dependsOn,
            Modifies = modifies,
            Body = Body,
            Content = text,
            SourcePath = $"specs/{project}/{id}.md",
            ContentHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))),
        };
    }

    private static string FlowList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(item => $"\"{item}\"")) + "]";
}
