using System.Diagnostics;

namespace Dispatch.Tests.EndToEnd;

/// <summary>A PostgreSQL cluster of one test's own, started through scripts/test-postgres.sh, so the test can stop and restart it.</summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string state;

    private PostgresCluster(string state, string url)
    {
        this.state = state;
        Url = url;
    }

    public string Url { get; }

    public static async Task<PostgresCluster> StartAsync(string directory)
    {
        var state = Path.Combine(directory, "cluster.state");
        var url = (await RunAsync(state, "start")).Trim();
        return new PostgresCluster(state, url);
    }

    public Task HaltAsync() => RunAsync(state, "halt");

    public Task ResumeAsync() => RunAsync(state, "resume");

    public async ValueTask DisposeAsync() => await RunAsync(state, "stop");

    private static async Task<string> RunAsync(string state, string verb)
    {
        var startInfo = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "scripts", "test-postgres.sh"), verb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.Environment["DISPATCH_TEST_PG_STATE"] = state;
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"test-postgres.sh {verb} failed: {await stderr}");
        }

        return await stdout;
    }
}
