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
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task CorpusRunKeepsInvariants(string backend)
    {
        var corpus = RepositoryPaths.Corpus;
        Assert.True(corpus is not null, "the shared spec corpus was not found beside the repository");
        var directory = Directory.CreateTempSubdirectory("dispatch-corpus-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var journal = Path.Combine(directory, "journal.tsv");

        var result = await CliProcess.RunAsync(directory, new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_DEMO_JOURNAL"] = journal,
            ["DISPATCH_DEMO_MIN_MS"] = "5",
            ["DISPATCH_DEMO_MAX_MS"] = "60",
        }, TimeSpan.FromMinutes(5), "up", "--demo", "--specs", corpus!, "--slots", "6");

        Assert.True(result.ExitCode == 0, result.ToString());

        await using var store = SqlStore.Create(DatabaseTarget.Parse(database.Url, null));
        var tasks = await store.ListTasksAsync(null);
        Assert.True(tasks.Count > 300, $"only {tasks.Count} tasks were imported");
        var unfinished = tasks.Where(t => t.State is not (TaskStates.Completed or TaskStates.Blocked)).Select(t => $"{t.Key} {t.State}").ToList();
        Assert.Empty(unfinished);
        var unexplained = tasks.Where(t => t.State == TaskStates.Blocked && string.IsNullOrWhiteSpace(t.BlockedReason)).ToList();
        Assert.Empty(unexplained);

        var dependencies = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var task in tasks)
        {
            dependencies[task.Key.ToString()] = (await store.GetDependenciesAsync(task.Id)).Select(k => k.ToString()).ToList();
        }

        var runs = Journal.Read(journal);
        Assert.Equal(tasks.Count(t => t.State == TaskStates.Completed), runs.Count);
        Assert.All(runs, run => Assert.NotNull(run.End));
        Assert.Empty(Journal.OverlapViolations(runs));
        Assert.Empty(Journal.DependencyViolations(runs, dependencies));
        Assert.Empty(await store.ListLocksAsync());
    }
}
