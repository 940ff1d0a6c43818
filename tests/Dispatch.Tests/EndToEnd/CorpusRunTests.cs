using Dispatch.Storage;

namespace Dispatch.Tests.EndToEnd;

/// <summary>
/// Runs `dispatch up --demo` on the real spec corpus as a child process and
/// checks the demo agent's journal: no task ran twice at once, no runs with
/// conflicting files overlapped, and no task started before its dependencies completed.
/// </summary>
public sealed class CorpusRunTests
{
    [Theory]
    [InlineData("sqlite", 0.0)]
    [InlineData("postgres", 0.0)]
    [InlineData("sqlite", 0.3)]
    [InlineData("postgres", 0.3)]
    public async Task CorpusRunKeepsInvariants(string backend, double failRate)
    {
        // The real corpus beside the repository when present (as in CI), else the shipped examples.
        var corpus = RepositoryPaths.Corpus ?? Path.Combine(RepositoryPaths.Root, "examples", "specs");
        var minimumTasks = RepositoryPaths.Corpus is null ? 8 : 300;
        var directory = Directory.CreateTempSubdirectory("dispatch-corpus-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var journal = Path.Combine(directory, "journal.tsv");

        var result = await CliProcess.RunAsync(directory, new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_DEMO_JOURNAL"] = journal,
            ["DISPATCH_DEMO_MIN_MS"] = "5",
            ["DISPATCH_DEMO_MAX_MS"] = "60",
            ["DISPATCH_DEMO_FAIL_RATE"] = failRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DISPATCH_Reaper__BackoffBaseSeconds"] = "0.2",
            ["DISPATCH_Daemons__reaper__IntervalSeconds"] = "0.5",
            ["DISPATCH_Daemons__guardian__IntervalSeconds"] = "0.5",
        }, TimeSpan.FromMinutes(8), "up", "--demo", "--specs", corpus, "--slots", "6", "--port", Eventually.FreePort().ToString());

        // Exit code 1 reports dead-letters, which a failure rate above zero is expected to produce.
        Assert.True(result.ExitCode == 0 || failRate > 0 && result.ExitCode == 1, result.ToString());

        await using var store = SqlStore.Create(DatabaseTarget.Parse(database.Url, null));
        var tasks = await store.ListTasksAsync(null);
        Assert.True(tasks.Count >= minimumTasks, $"only {tasks.Count} tasks were imported from {corpus}");
        var unfinished = tasks.Where(t => t.State is not (TaskStates.Completed or TaskStates.Blocked or TaskStates.DeadLetter))
            .Select(t => $"{t.Key} {t.State}").ToList();
        Assert.Empty(unfinished);
        if (failRate == 0)
        {
            Assert.DoesNotContain(tasks, t => t.State == TaskStates.DeadLetter);
        }

        // Every dead-letter is explained by its history: max_retries + 1 failed attempts, then the dead-letter event.
        foreach (var task in tasks.Where(t => t.State == TaskStates.DeadLetter))
        {
            var history = await store.GetEventsAsync(new EventQuery(task.Key));
            Assert.Equal(task.MaxRetries + 1, history.Count(e => e.Type == TaskStates.Failed));
            Assert.Equal("deadlettered", history[^1].Type);
        }
        var unexplained = tasks.Where(t => t.State == TaskStates.Blocked && string.IsNullOrWhiteSpace(t.BlockedReason)).ToList();
        Assert.Empty(unexplained);

        var dependencies = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var task in tasks)
        {
            dependencies[task.Key.ToString()] = (await store.GetDependenciesAsync(task.Id)).Select(k => k.ToString()).ToList();
        }

        var runs = Journal.Read(journal);
        Assert.Equal(tasks.Count(t => t.State == TaskStates.Completed), runs.Count(r => r.ExitCode == 0));
        Assert.All(runs, run => Assert.NotNull(run.End));
        Assert.Empty(Journal.OverlapViolations(runs));
        Assert.Empty(Journal.DependencyViolations(runs, dependencies));
        Assert.Empty(await store.ListLocksAsync());
    }
}
