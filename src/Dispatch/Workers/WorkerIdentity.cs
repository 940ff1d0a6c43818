namespace Dispatch.Workers;

/// <summary>A worker's lease owner id: node name, process id and a random suffix, unique per worker instance.</summary>
public static class WorkerIdentity
{
    public static string Create(string node) =>
        $"{node}:{Environment.ProcessId}:{Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 4).ToLowerInvariant()}";
}
