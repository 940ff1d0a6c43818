namespace Dispatch.Executors;

/// <summary>
/// The shipped demo agent (examples/executors/demo-agent.sh, embedded in the
/// assembly): written into the data folder and installed as the <c>*</c>
/// executor, so every executor name runs it on a machine without an agent.
/// </summary>
public static class DemoExecutor
{
    public static ExecutorDefinition Install(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.GetFullPath(Path.Combine(dataDirectory, "demo-agent.sh"));
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        using (var resource = typeof(DemoExecutor).Assembly.GetManifestResourceStream("demo-agent.sh")!)
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            resource.CopyTo(file);
        }

        // Rename over the old copy so a worker starting it meanwhile never reads a half-written script.
        File.Move(temporary, path, overwrite: true);
        return new ExecutorDefinition { Command = ["bash", path] };
    }
}
