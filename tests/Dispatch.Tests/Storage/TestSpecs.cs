using System.Security.Cryptography;
using System.Text;
using Dispatch.Specs;

namespace Dispatch.Tests.Storage;

/// <summary>Task specs built in code, shaped like the parser's output.</summary>
internal static class TestSpecs
{
    public const string DefaultBody = "## Goal\nDo the work.\n";

    /// <summary>
    /// Builds a spec whose content is the front-matter and body it would have
    /// been parsed from, with the SHA-256 of that text as its hash, so any
    /// changed field or body gives a changed hash.
    /// </summary>
    public static TaskSpec Spec(
        string project,
        string id,
        int priority = SpecDefaults.Priority,
        string[]? dependsOn = null,
        string[]? modifies = null,
        bool exclusive = false,
        string? executor = null,
        string body = DefaultBody,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        dependsOn ??= [];
        modifies ??= [];
        metadata ??= new Dictionary<string, string>();

        var content = new StringBuilder()
            .Append("---\n")
            .Append($"task_id: {id}\n")
            .Append($"project: {project}\n")
            .Append($"priority: {priority}\n")
            .Append($"depends_on: {FlowList(dependsOn)}\n")
            .Append($"modifies: {FlowList(modifies)}\n")
            .Append($"exclusive: {(exclusive ? "true" : "false")}\n");
        if (executor is not null)
        {
            content.Append($"executor: {executor}\n");
        }

        foreach (var (key, value) in metadata)
        {
            content.Append($"{key}: {value}\n");
        }

        content.Append("---\n").Append(body);
        var text = content.ToString();

        return new TaskSpec
        {
            Project = project,
            TaskId = id,
            Priority = priority,
            DependsOn = dependsOn,
            Modifies = modifies,
            Exclusive = exclusive,
            Executor = executor,
            Metadata = metadata,
            Body = body,
            Content = text,
            SourcePath = $"specs/{project}/{id}.md",
            ContentHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))),
        };
    }

    private static string FlowList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(item => $"\"{item}\"")) + "]";
}
