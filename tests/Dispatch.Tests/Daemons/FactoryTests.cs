using System.Text;
using Dispatch.Storage;
using Dispatch.Tests.Storage;
using Xunit;

namespace Dispatch.Tests.Daemons;

/// <summary>Factory passes over a temporary specs folder with one sub-folder per project.</summary>
public sealed class FactoryTests : StoreTestBase, IDisposable
{
    private readonly string specsDirectory = Directory.CreateTempSubdirectory("dispatch-factory-test-").FullName;

    public void Dispose() => Directory.Delete(specsDirectory, recursive: true);

    private string WriteSpec(string relativePath, string text)
    {
        var path = Path.Combine(specsDirectory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private static string SpecText(string taskId, string goal = "Do the work.") => $"---\ntask_id: {taskId}\n---\n## Goal\n{goal}\n";

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Factory_ImportsProjectFolders(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        WriteSpec("shop-api/B01-schema.md", SpecText("B01-schema"));
        WriteSpec("shop-api/B02-orders.md", SpecText("B02-orders"));
        WriteSpec("shop-docs/D01-outline.md", SpecText("D01-outline"));
        var factory = TestDaemons.Factory(db, specsDirectory);

        var first = await factory.RunOnceAsync(CancellationToken.None);

        Assert.Equal(3, first["imported"]);
        var tasks = await db.Store.ListTasksAsync(null);
        Assert.Equal(["shop-api/B01-schema", "shop-api/B02-orders", "shop-docs/D01-outline"], tasks.Select(t => $"{t.Project}/{t.TaskId}"));
        Assert.All(tasks, t => Assert.Equal(TaskStates.Pending, t.State));

        var unchanged = await factory.RunOnceAsync(CancellationToken.None);
        Assert.False(unchanged.DidAnything, $"a pass over an unchanged folder did something: {unchanged}");

        WriteSpec("shop-docs/D02-guide.md", SpecText("D02-guide"));
        var added = await factory.RunOnceAsync(CancellationToken.None);
        Assert.Equal(1, added["imported"]);
        Assert.Equal(0, added["updated"]);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("shop-docs", "D02-guide")).State);

        WriteSpec("shop-api/B02-orders.md", SpecText("B02-orders", "Build the orders API."));
        var changed = await factory.RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, changed["imported"]);
        Assert.Equal(1, changed["updated"]);
        Assert.Equal(4, (await db.Store.ListTasksAsync(null)).Count);
        Assert.Equal(4, (await TestDaemons.GetEventsOfTypeAsync(db, "imported")).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Factory_ImportsUpperCaseExtension(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        WriteSpec("shop-api/B01-schema.md", SpecText("B01-schema"));
        var factory = TestDaemons.Factory(db, specsDirectory);
        Assert.Equal(1, (await factory.RunOnceAsync(CancellationToken.None))["imported"]);

        // The loader reads *.md in any case, so a new *.MD file alone must trigger an import.
        WriteSpec("shop-api/B02-orders.MD", SpecText("B02-orders"));
        var result = await factory.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, result["imported"]);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("shop-api", "B02-orders")).State);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Factory_ReportsRejectedFileOnce(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        WriteSpec("shop-api/B01-schema.md", SpecText("B01-schema"));
        WriteSpec("shop-api/B09-broken.md", "# no front-matter\n");
        var factory = TestDaemons.Factory(db, specsDirectory);

        var first = await factory.RunOnceAsync(CancellationToken.None);
        var unchanged = await factory.RunOnceAsync(CancellationToken.None);
        WriteSpec("shop-docs/D01-outline.md", SpecText("D01-outline"));
        var rescanned = await factory.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, first["rejected"]);
        Assert.Equal(1, first["imported"]);
        Assert.Equal(0, unchanged["rejected"]);
        Assert.Equal(0, rescanned["rejected"]);
        Assert.Equal(1, rescanned["imported"]);
        var rejected = Assert.Single(await TestDaemons.GetEventsOfTypeAsync(db, "spec_rejected"));
        Assert.Contains("B09-broken.md", rejected.Details);
        Assert.Null(rejected.TaskId);
        Assert.Equal(2, (await db.Store.ListTasksAsync(null)).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Factory_MissingSpecsFolder(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        var missing = Path.Combine(specsDirectory, "nowhere");
        var factory = TestDaemons.Factory(db, missing);

        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => factory.RunOnceAsync(CancellationToken.None));

        Assert.Contains(missing, error.Message);
        Assert.Contains("DISPATCH_SPECS_DIR", error.Message);
    }
}
