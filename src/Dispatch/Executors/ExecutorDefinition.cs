namespace Dispatch.Executors;

/// <summary>
/// One executor from configuration: a command template and how the prompt
/// reaches it. Placeholders in <see cref="Command"/>: <c>{spec_file}</c>,
/// <c>{workdir}</c>, <c>{task_id}</c>, <c>{project}</c>, <c>{attempt}</c>, <c>{prompt}</c>.
/// </summary>
public sealed class ExecutorDefinition
{
    public string[] Command { get; set; } = [];

    /// <summary><c>stdin</c> writes the spec body to the process's standard input; <c>none</c> (the default) does not.</summary>
    public string Prompt { get; set; } = "none";

    /// <summary>Extra environment variables for the process.</summary>
    public Dictionary<string, string> Environment { get; set; } = new();
}
