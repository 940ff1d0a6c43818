using System.Net;
using System.Text.RegularExpressions;
using Dispatch.Storage;
using Xunit.Abstractions;

namespace Dispatch.Tests.EndToEnd;

/// <summary>Daemons as real processes: the hang watchdog, /health and /metrics.</summary>
public sealed partial class DaemonProcessTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task HungPassExitsProcess(string backend)
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-hang-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var hangFile = Path.Combine(directory, "hang");
        await File.WriteAllTextAsync(hangFile, "");
        using var reaper = new BackgroundCli(directory, new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_Testing__HangFile"] = hangFile,
            ["DISPATCH_Daemons__reaper__IntervalSeconds"] = "0.5",
            ["DISPATCH_Daemons__reaper__UnhealthyAfterSeconds"] = "2",
        }, "reaper", "--port", Eventually.FreePort().ToString());

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await reaper.Process.WaitForExitAsync(timeout.Token);
        Assert.NotEqual(0, reaper.Process.ExitCode);
        Assert.Contains("stuck", reaper.Output);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task HealthAndMetricsAnswer(string backend)
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-health-").FullName;
        await using var database = await TestDatabase.CreateAsync(backend, directory);
        var port = Eventually.FreePort();
        using var guardian = new BackgroundCli(directory, new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_Daemons__guardian__IntervalSeconds"] = "0.5",
            ["DISPATCH_Daemons__guardian__UnhealthyAfterSeconds"] = "5",
        }, "guardian", "--port", port.ToString());

        Assert.True(await Eventually.HoldsAsync(async () => await StatusAsync(port) == HttpStatusCode.OK, TimeSpan.FromSeconds(60)),
            "guardian never became healthy:\n" + guardian.Output);
        var health = await Http.GetStringAsync($"http://127.0.0.1:{port}/health");
        Assert.Contains("\"service\":\"guardian\"", health);
        Assert.Contains("\"database\":\"ok\"", health);
        Assert.DoesNotContain("password", health, StringComparison.OrdinalIgnoreCase);

        var metrics = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        foreach (var line in metrics.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            Assert.Matches(SampleLine(), line);
        }

        foreach (var series in new[]
                 {
                     "dispatch_daemon_up", "dispatch_daemon_uptime_seconds", "dispatch_daemon_passes_total",
                     "dispatch_daemon_last_pass_age_seconds", "dispatch_claim_latency_seconds", "dispatch_run_duration_seconds",
                 })
        {
            Assert.Contains("# TYPE " + series, metrics);
        }

        var check = await CliProcess.RunAsync(directory, new Dictionary<string, string>(), TimeSpan.FromMinutes(1), "healthcheck", "--port", port.ToString());
        Assert.Equal(0, check.ExitCode);
    }

    [Fact]
    public async Task HealthFollowsDatabaseOutage()
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-outage-").FullName;
        await using var cluster = await PostgresCluster.StartAsync(directory);
        var port = Eventually.FreePort();
        using var reaper = new BackgroundCli(directory, new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = cluster.Url,
            ["DISPATCH_Daemons__reaper__IntervalSeconds"] = "0.5",
            ["DISPATCH_Daemons__reaper__UnhealthyAfterSeconds"] = "30",
        }, "reaper", "--port", port.ToString());

        Assert.True(await Eventually.HoldsAsync(async () => await StatusAsync(port) == HttpStatusCode.OK, TimeSpan.FromSeconds(60)),
            "reaper never became healthy:\n" + reaper.Output);

        await cluster.HaltAsync();
        Assert.True(await Eventually.HoldsAsync(async () => await StatusAsync(port) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30)),
            "reaper did not report the outage:\n" + reaper.Output);
        var body = await Http.GetAsync($"http://127.0.0.1:{port}/health");
        Assert.DoesNotContain("\"database\":\"ok\"", await body.Content.ReadAsStringAsync());

        await cluster.ResumeAsync();
        Assert.True(await Eventually.HoldsAsync(async () => await StatusAsync(port) == HttpStatusCode.OK, TimeSpan.FromSeconds(60)),
            "reaper did not recover:\n" + reaper.Output);
        Assert.False(reaper.Process.HasExited);
    }

    /// <summary>
    /// Two worker processes offer different executors, so the second learns that
    /// its task's dependency completed only through NOTIFY; its poll interval is
    /// far longer than the latencies measured.
    /// </summary>
    [Fact]
    public async Task DependentClaimedAfterNotify()
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-wake-").FullName;
        await using var database = await TestDatabase.CreateAsync("postgres", directory);
        var specs = Path.Combine(directory, "specs");
        Directory.CreateDirectory(specs);
        const int pairs = 12;
        for (var i = 0; i < pairs; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(specs, $"first-{i}.md"), $"---\ntask_id: first-{i}\nexecutor: a\n---\nfirst\n");
            await File.WriteAllTextAsync(Path.Combine(specs, $"second-{i}.md"), $"---\ntask_id: second-{i}\nexecutor: b\ndepends_on: [first-{i}]\n---\nsecond\n");
        }

        var agent = Path.Combine(RepositoryPaths.Root, "examples", "executors", "demo-agent.sh");
        var environment = new Dictionary<string, string>
        {
            ["DISPATCH_DB_URL"] = database.Url,
            ["DISPATCH_DEMO_MIN_MS"] = "50",
            ["DISPATCH_DEMO_MAX_MS"] = "150",
            ["DISPATCH_PollIntervalSeconds"] = "30",
        };
        Assert.Equal(0, (await CliProcess.RunAsync(directory, environment, TimeSpan.FromMinutes(2), "start", "wake", specs)).ExitCode);

        var onlyA = WithExecutor(environment, directory, "a", agent);
        var onlyB = WithExecutor(environment, directory, "b", agent);
        using var workerB = new BackgroundCli(directory, onlyB, "worker", "--node", "node-b", "--slots", "4");
        await using var store = SqlStore.Create(DatabaseTarget.Parse(database.Url, null));
        Assert.True(await Eventually.HoldsAsync(async () => (await store.ListNodesAsync()).Any(n => n.Name == "node-b"), TimeSpan.FromSeconds(60)),
            "worker b never registered:\n" + workerB.Output);

        // Let worker b finish its first claim round and go to sleep on its long poll.
        await Task.Delay(TimeSpan.FromSeconds(1));
        using var workerA = new BackgroundCli(directory, onlyA, "worker", "--node", "node-a", "--slots", "1");
        Assert.True(await Eventually.HoldsAsync(
            async () => (await store.CountByStateAsync("wake")).Where(c => c.State == TaskStates.Completed).Sum(c => c.Count) == 2 * pairs,
            TimeSpan.FromSeconds(90)), "not every task completed:\n" + workerA.Output + workerB.Output);

        var events = await store.GetEventsAsync(new EventQuery(null, 0, 10_000));
        var latencies = new List<double>();
        for (var i = 0; i < pairs; i++)
        {
            var completed = events.Single(e => e.TaskId == $"first-{i}" && e.Type == TaskStates.Completed).At;
            var claimed = events.Single(e => e.TaskId == $"second-{i}" && e.Type == "claimed").At;
            latencies.Add((claimed - completed).TotalMilliseconds);
        }

        latencies.Sort();
        var median = latencies[latencies.Count / 2];
        output.WriteLine($"dependency completed → dependent claimed, {pairs} pairs: median {median:0.0} ms, max {latencies[^1]:0.0} ms");

        // The target is 20 ms median and 100 ms p99; the bounds here are loose for a busy 2-core machine,
        // and still far below the 30 s poll interval, so only a wake-up can meet them.
        Assert.True(median < 250, $"median {median:0.0} ms");
        Assert.True(latencies[^1] < 2000, $"max {latencies[^1]:0.0} ms");
    }

    /// <summary>Returns the environment plus a configuration file whose only executor is <paramref name="name"/>.</summary>
    private static Dictionary<string, string> WithExecutor(Dictionary<string, string> environment, string directory, string name, string agent)
    {
        var file = Path.Combine(directory, $"only-{name}.json");
        File.WriteAllText(file, $$"""{ "Executors": { "{{name}}": { "Command": ["bash", "{{agent}}"] } } }""");
        return new Dictionary<string, string>(environment) { ["DISPATCH_CONFIG"] = file };
    }

    private static async Task<HttpStatusCode?> StatusAsync(int port)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{port}/health");
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>A Prometheus sample: a metric name, optional labels, and a number.</summary>
    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?([0-9.eE+-]+|NaN|\+Inf|-Inf)$""")]
    private static partial Regex SampleLine();
}
