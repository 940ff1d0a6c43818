using Dispatch.Storage;

namespace Dispatch.Tests.EndToEnd;

/// <summary>
/// A real worker process is killed with SIGKILL in the middle of a run. The
/// reaper then fails the expired lease and retries it, and a second worker completes it.
/// </summary>
public sealed class WorkerKillTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task KilledWorkerTaskIsReclaimed(string backend)
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-kill-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var specs = Path.Combine(directory, "specs");
        Directory.CreateDirectory(specs);
        await File.WriteAllTextAsync(Path.Combine(specs, "slow.md"), """
            ---
            task_id: slow-task
            modifies: [src/app.py]
            ---
            长任务：运行四秒钟。
            """);
        var journal = Path.Combine(directory, "journal.tsv");
        var environment = new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_DEMO_JOURNAL"] = journal,
            ["DISPATCH_DEMO_MIN_MS"] = "4000",
            ["DISPATCH_DEMO_MAX_MS"] = "4000",
            ["DISPATCH_LeaseTtlSeconds"] = "2",
            ["DISPATCH_PollIntervalSeconds"] = "0.2",
            ["DISPATCH_Reaper__BackoffBaseSeconds"] = "0.2",
            ["DISPATCH_Daemons__reaper__IntervalSeconds"] = "0.3",
            ["DISPATCH_Daemons__reaper__UnhealthyAfterSeconds"] = "30",
        };
        var imported = await CliProcess.RunAsync(directory, environment, TimeSpan.FromMinutes(2), "start", "demo", specs);
        Assert.True(imported.ExitCode == 0, imported.ToString());

        long killedAtNs;
        using (var first = new BackgroundCli(directory, environment, "worker", "--demo", "--node", "node-a"))
        {
            var started = await Eventually.HoldsAsync(
                () => Task.FromResult(File.Exists(journal) && File.ReadAllText(journal).Contains("start\t")), TimeSpan.FromSeconds(60));
            Assert.True(started, "the first worker never started the task:\n" + first.Output);
            first.KillHard();
            killedAtNs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            await first.Process.WaitForExitAsync();
        }

        using var second = new BackgroundCli(directory, environment, "worker", "--demo", "--node", "node-b");
        using var reaper = new BackgroundCli(directory, environment, "reaper", "--port", Eventually.FreePort().ToString());

        await using var store = SqlStore.Create(DatabaseTarget.Parse(database.Url, null));
        var completed = await Eventually.HoldsAsync(
            async () => (await store.FindTasksAsync("demo/slow-task")).Single().State == TaskStates.Completed, TimeSpan.FromSeconds(60));
        Assert.True(completed, "the task was not completed after the kill:\n" + second.Output + reaper.Output);

        var task = (await store.FindTasksAsync("demo/slow-task")).Single();
        Assert.Equal(2, task.Attempt);
        var events = (await store.GetEventsAsync(new EventQuery(task.Key))).Select(e => e.Type).ToList();
        Assert.Contains("lease_expired", events);
        Assert.Contains("retry_scheduled", events);

        var runs = Journal.Read(journal);
        var killed = Assert.Single(runs, r => r.Attempt == 1);
        var replacement = Assert.Single(runs, r => r.Attempt == 2);

        // The killed run never ended on its own: the orphan guard killed it with its worker.
        // Had it survived, it would have written its end record 4 s after its start, long before the second attempt finished.
        Assert.Null(killed.End);
        Assert.Equal(0, replacement.ExitCode);

        // The guard polls every 0.5 s, so the orphan was gone by kill + 0.5 s; the replacement started after that.
        Assert.True(replacement.Start > killedAtNs + 500_000_000, $"attempt 2 started {(replacement.Start - killedAtNs) / 1e6:0} ms after the kill");
        Assert.Empty(await store.ListLocksAsync());
    }
}
