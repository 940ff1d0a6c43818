using Dispatch.Daemons;
using Dispatch.Storage;
using Dispatch.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dispatch.Tests.Daemons;

/// <summary>
/// Daemons built on a <see cref="TestStore"/>: its fake clock, a null logger
/// and, for the reaper, a seeded random source, so each backoff is predictable.
/// Tests call <see cref="DaemonLoop.RunOnceAsync"/> directly, so the loops never start.
/// </summary>
internal static class TestDaemons
{
    /// <summary>The seed of the reaper's jitter. A <see cref="Random"/> with the same seed predicts every backoff.</summary>
    public const int JitterSeed = 20300101;

    public static DaemonOptions LoopOptions => new() { IntervalSeconds = 5, UnhealthyAfterSeconds = 60, StartJitterSeconds = 0 };

    /// <summary>Creates a reaper on <paramref name="store"/>, or on the fixture's own store when null.</summary>
    public static Reaper Reaper(TestStore db, string dataDirectory, SqlStore? store = null, ReaperOptions? options = null) =>
        new(store ?? db.Store, LoopOptions, options ?? new ReaperOptions(), dataDirectory, db.Clock, NullLogger.Instance,
            random: new Random(JitterSeed));

    /// <summary>
    /// Creates a guardian on <paramref name="store"/>, or on the fixture's own store when null. Without
    /// <paramref name="options"/> the free-disk threshold is 0, so the test machine's disk cannot change a result.
    /// </summary>
    public static Guardian Guardian(TestStore db, string dataDirectory, SqlStore? store = null, GuardianOptions? options = null) =>
        new(store ?? db.Store, LoopOptions, options ?? new GuardianOptions { MinFreeDiskBytes = 0 }, dataDirectory, db.Clock,
            NullLogger.Instance);

    public static Factory Factory(TestStore db, string specsDirectory) =>
        new(db.Store, LoopOptions, new FactoryOptions { SpecsDir = specsDirectory }, TestStore.Defaults, db.Clock, NullLogger.Instance);

    /// <summary>Ends the attempt of <paramref name="lease"/> as failed, the way a worker reports a non-zero exit.</summary>
    public static Task<bool> FailAsync(TestStore db, Lease lease, string error = "exit code 1") =>
        db.Store.FinishAsync(lease, new RunResult(false, 1, error, null));

    public static async Task<List<EventRow>> GetEventsOfTypeAsync(TestStore db, string type) =>
        (await db.GetEventsAsync()).Where(e => e.Type == type).ToList();

    /// <summary>Registers a node that offers <paramref name="executors"/>, or the import's default executor when none are given.</summary>
    public static Task RegisterNodeAsync(TestStore db, string name, params string[] executors) =>
        db.Store.RegisterNodeAsync(new NodeRegistration(name, "worker-on-" + name, 2,
            executors.Length == 0 ? [TestStore.Defaults.Executor] : executors, "test"));

    public static async Task<NodeRow> GetNodeAsync(TestStore db, string name) =>
        Assert.Single(await db.Store.ListNodesAsync(), node => node.Name == name);
}
