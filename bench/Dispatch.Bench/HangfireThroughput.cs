using System.Diagnostics;
using Dispatch.Storage;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.States;
using Hangfire.Storage;
using Npgsql;

namespace Dispatch.Bench;

/// <summary>What one Hangfire run measured: the enqueue and the fetch-and-remove phases.</summary>
internal sealed record HangfireRun(double JobsPerSecond, TimeSpan Elapsed, double EnqueuedPerSecond);

/// <summary>
/// The peer measurement: Hangfire.PostgreSql's queue with concurrent fetchers.
/// Jobs are enqueued through <see cref="BackgroundJobClient"/> before the clock
/// starts. Each fetcher is a dedicated thread, because FetchNextJob blocks,
/// with its own storage connection, and loops FetchNextJob then
/// RemoveFromQueue: the queue-level equivalent of a claim and a completion.
/// The job is never performed and no state change is written.
/// </summary>
internal static class HangfireThroughput
{
    private const string Queue = "default";

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    /// <summary>Threads that enqueue the jobs before the clock starts. The enqueue rate is reported but not compared.</summary>
    private const int EnqueueThreads = 8;

    public static async Task<HangfireRun> RunAsync(BenchDatabases databases, int jobCount, int fetcherCount, bool analyze)
    {
        await using var database = await databases.CreateAsync(DatabaseBackend.Postgres, "hangfire");
        var connectionString = new NpgsqlConnectionStringBuilder(database.Target.ConnectionString) { ApplicationName = "hangfire-bench" }.ConnectionString;
        var options = new PostgreSqlStorageOptions
        {
            PrepareSchemaIfNecessary = true,

            // Matters only when a fetch finds no job, because FetchNextJob then sleeps this long before it looks again.
            // Hangfire.PostgreSql 1.21.1 rejects values below 50 ms unless AllowUnsafeValues is set.
            QueuePollInterval = TimeSpan.FromMilliseconds(50),
        };
        var storage = new PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, options, null), options);

        var enqueueSeconds = Enqueue(storage, jobCount);
        if (analyze)
        {
            await database.AnalyzeAsync();
        }

        using var deadline = new CancellationTokenSource(Deadline);
        using var allFetched = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var fetched = 0;
        var errors = new List<Exception>();
        using var ready = new CountdownEvent(fetcherCount);
        using var start = new ManualResetEventSlim(false);

        var threads = Enumerable.Range(0, fetcherCount).Select(_ => new Thread(() =>
        {
            var signalled = false;
            try
            {
                using var connection = storage.GetConnection();

                // One read opens a pooled connection before the clock starts.
                connection.GetJobData("0");
                ready.Signal();
                signalled = true;
                start.Wait();

                while (Volatile.Read(ref fetched) < jobCount)
                {
                    IFetchedJob job;
                    try
                    {
                        job = connection.FetchNextJob([Queue], allFetched.Token);
                    }
                    catch (OperationCanceledException) when (allFetched.IsCancellationRequested)
                    {
                        break;
                    }

                    using (job)
                    {
                        job.RemoveFromQueue();
                    }

                    if (Interlocked.Increment(ref fetched) == jobCount)
                    {
                        allFetched.Cancel();
                    }
                }
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }

                if (!signalled)
                {
                    ready.Signal();
                }

                allFetched.Cancel();
            }
        })
        { IsBackground = true }).ToList();

        threads.ForEach(thread => thread.Start());
        ready.Wait();
        var stopwatch = Stopwatch.StartNew();
        start.Set();
        threads.ForEach(thread => thread.Join());
        stopwatch.Stop();

        if (errors.Count > 0)
        {
            throw new AggregateException("a Hangfire fetcher failed", errors);
        }

        if (fetched != jobCount)
        {
            throw new TimeoutException($"the Hangfire fetchers removed {fetched} of {jobCount} jobs within {Deadline}");
        }

        return new HangfireRun(jobCount / stopwatch.Elapsed.TotalSeconds, stopwatch.Elapsed, jobCount / enqueueSeconds);
    }

    /// <summary>Enqueues <paramref name="jobCount"/> no-op jobs on <see cref="EnqueueThreads"/> threads and returns the seconds it took.</summary>
    private static double Enqueue(PostgreSqlStorage storage, int jobCount)
    {
        var client = new BackgroundJobClient(storage);
        var job = Job.FromExpression(() => NoopJob.Run());
        var stopwatch = Stopwatch.StartNew();
        Parallel.For(0, jobCount, new ParallelOptions { MaxDegreeOfParallelism = EnqueueThreads }, _ => client.Create(job, new EnqueuedState(Queue)));
        return stopwatch.Elapsed.TotalSeconds;
    }
}

/// <summary>The method every Hangfire job names. The benchmark never performs it.</summary>
public static class NoopJob
{
    public static void Run()
    {
    }
}
