using System.Diagnostics;
using Dispatch.Storage;

namespace Dispatch.Bench;

/// <summary>Imports a set of in-code specs into an empty, migrated database with one ImportAsync call.</summary>
internal static class ImportBenchmark
{
    public const int Projects = 10;

    /// <summary>Returns the seconds one ImportAsync of <paramref name="specCount"/> specs took. Building the specs is not timed.</summary>
    public static async Task<double> RunAsync(BenchDatabases databases, DatabaseBackend backend, int specCount)
    {
        var specs = BenchSpecs.WithDependencies(specCount, Projects);
        await using var database = await databases.CreateAsync(backend, "import");
        await using var store = await database.OpenMigratedStoreAsync();

        var stopwatch = Stopwatch.StartNew();
        var summary = await store.ImportAsync(specs, new ImportDefaults("noop", MaxRetries: 0));
        stopwatch.Stop();

        if (summary.Imported != specCount || summary.Blocked != 0)
        {
            throw new InvalidOperationException($"the import created {summary.Imported} of {specCount} tasks and blocked {summary.Blocked}");
        }

        return stopwatch.Elapsed.TotalSeconds;
    }
}
