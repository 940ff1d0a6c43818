using System.Diagnostics;
using Dispatch.Storage;

namespace Dispatch.Tests.EndToEnd;

/// <summary>SIGTERM drains a worker: a run still going when the drain window ends is handed back without spending its attempt.</summary>
public sealed class ShutdownTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task SigtermHandsBackUnfinishedRun(string backend)
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-term-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var specs = Path.Combine(directory, "specs");
        Directory.CreateDirectory(specs);
        await File.WriteAllTextAsync(Path.Combine(specs, "long.md"), "---\ntask_id: long-task\n---\nruns for a minute\n");
        var journal = Path.Combine(directory, "journal.tsv");
        var environment = new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_DEMO_JOURNAL"] = journal,
            ["DISPATCH_DEMO_MIN_MS"] = "60000",
            ["DISPATCH_DEMO_MAX_MS"] = "60000",
            ["DISPATCH_DrainSeconds"] = "1",
            ["DISPATCH_KillGraceSeconds"] = "1",
        };
        Assert.Equal(0, (await CliProcess.RunAsync(directory, environment, TimeSpan.FromMinutes(2), "start", "demo", specs)).ExitCode);

        using var worker = new BackgroundCli(directory, environment, "worker", "--demo", "--node", "node-a");
        Assert.True(await Eventually.HoldsAsync(
            () => Task.FromResult(File.Exists(journal) && File.ReadAllText(journal).Contains("start\t")), TimeSpan.FromSeconds(60)),
            "the worker never started the task:\n" + worker.Output);

        var stopwatch = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", worker.Process.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await worker.Process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, worker.Process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the worker took {stopwatch.Elapsed} to stop");

        await using var store = SqlStore.Create(DatabaseTarget.Parse(database.Url, null));
        var task = (await store.FindTasksAsync("demo/long-task")).Single();
        Assert.Equal(TaskStates.Pending, task.State);
        Assert.Equal(0, task.Attempt);
        Assert.Null(task.LeaseOwner);
        Assert.Empty(await store.ListLocksAsync());
        var events = (await store.GetEventsAsync(new EventQuery(task.Key))).Select(e => e.Type).ToList();
        Assert.Equal("released", events[^1]);
        var node = (await store.ListNodesAsync()).Single(n => n.Name == "node-a");
        Assert.Equal("offline", node.State);
    }
}
