using System.Text.Json;
using Dispatch.Scheduling;
using Dispatch.Specs;
using Dispatch.Storage;
using Xunit;
using static Dispatch.Tests.Storage.TestSpecs;

namespace Dispatch.Tests.Storage;

public sealed class StoreImportTests : StoreTestBase
{
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_UnknownDependencyBlocks(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(Spec("web", "deploy", dependsOn: ["setup"]));

        var blocked = await db.GetTaskAsync("web", "deploy");
        Assert.Equal(TaskStates.Blocked, blocked.State);
        Assert.Contains("unknown dependency \"setup\"", blocked.BlockedReason);
        Assert.Null(await db.ClaimAsync());

        var summary = await db.ImportAsync(Spec("web", "setup"));

        Assert.Equal(1, summary.Unblocked);
        var unblocked = await db.GetTaskAsync("web", "deploy");
        Assert.Equal(TaskStates.Pending, unblocked.State);
        Assert.Null(unblocked.BlockedReason);
        Assert.Equal([new TaskKey("web", "setup")], await db.Store.GetDependenciesAsync(unblocked.Id));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_AmbiguousPrefixBlocks(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "B02-api"),
            Spec("web", "B02-site"),
            Spec("web", "E01-launch", dependsOn: ["B02"]));

        var blocked = await db.GetTaskAsync("web", "E01-launch");
        Assert.Equal(TaskStates.Blocked, blocked.State);
        Assert.Contains("dependency \"B02\" is ambiguous", blocked.BlockedReason);

        // An exact id wins over prefixes, so importing one resolves the reference.
        await db.ImportAsync(Spec("web", "B02"));

        var unblocked = await db.GetTaskAsync("web", "E01-launch");
        Assert.Equal(TaskStates.Pending, unblocked.State);
        Assert.Equal([new TaskKey("web", "B02")], await db.Store.GetDependenciesAsync(unblocked.Id));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_CycleBlocks(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "a", dependsOn: ["b"]),
            Spec("web", "b", dependsOn: ["a"]));

        var a = await db.GetTaskAsync("web", "a");
        var b = await db.GetTaskAsync("web", "b");
        Assert.Equal(TaskStates.Blocked, a.State);
        Assert.Equal(TaskStates.Blocked, b.State);
        Assert.Equal("dependency cycle: web/a → web/b → web/a", a.BlockedReason);
        Assert.Equal("dependency cycle: web/b → web/a → web/b", b.BlockedReason);

        var summary = await db.ImportAsync(Spec("web", "a"), Spec("web", "b", dependsOn: ["a"]));

        Assert.Equal(1, summary.Updated);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "a")).State);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "b")).State);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_TransitiveBlock(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        await db.ImportAsync(
            Spec("web", "a", dependsOn: ["missing"]),
            Spec("web", "b", dependsOn: ["a"]),
            Spec("web", "c", dependsOn: ["b"]));

        var b = await db.GetTaskAsync("web", "b");
        var c = await db.GetTaskAsync("web", "c");
        Assert.Equal(TaskStates.Blocked, b.State);
        Assert.Equal("dependency \"web/a\" is blocked", b.BlockedReason);
        Assert.Equal(TaskStates.Blocked, c.State);
        Assert.Equal("dependency \"web/b\" is blocked, because it waits on blocked task \"web/a\"", c.BlockedReason);

        var summary = await db.ImportAsync(Spec("web", "missing"));

        Assert.Equal(3, summary.Unblocked);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "a")).State);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "b")).State);
        Assert.Equal(TaskStates.Pending, (await db.GetTaskAsync("web", "c")).State);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_SameSpecsTwice(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        TaskSpec[] specs =
        [
            Spec("web", "a", modifies: ["src"]),
            Spec("web", "b", dependsOn: ["a"]),
            Spec("api", "c", dependsOn: ["web/a"]),
        ];
        var first = await db.ImportAsync(specs);
        Assert.Equal(3, first.Imported);
        var eventCount = (await db.GetEventsAsync()).Count;
        var tasksBefore = await db.Store.ListTasksAsync(null);

        var second = await db.ImportAsync(specs);

        Assert.Equal(0, second.Imported);
        Assert.Equal(0, second.Updated);
        Assert.Equal(3, second.Unchanged);
        Assert.Equal(0, second.Blocked);
        Assert.Equal(0, second.Unblocked);
        Assert.Empty(second.CompletedChanged);
        Assert.Equal(eventCount, (await db.GetEventsAsync()).Count);
        Assert.Equal(tasksBefore, await db.Store.ListTasksAsync(null));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_ChangedSpecUpdates(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        var b = Spec("web", "b");
        await db.ImportAsync(Spec("web", "a", priority: 2, modifies: ["src"]), b);
        var changed = Spec("web", "a", priority: 0, modifies: ["docs"], body: "## Goal\nDo the work differently.\n");

        var summary = await db.ImportAsync(changed, b);

        Assert.Equal(0, summary.Imported);
        Assert.Equal(1, summary.Updated);
        Assert.Equal(1, summary.Unchanged);
        var task = await db.GetTaskAsync("web", "a");
        Assert.Equal(0, task.Priority);
        Assert.Equal(changed.ContentHash, task.SpecHash);
        Assert.Equal(["docs"], JsonSerializer.Deserialize<string[]>(task.Modifies)!);
        Assert.Equal("spec_updated", (await db.GetEventsAsync(new TaskKey("web", "a")))[^1].Type);

        var claimed = await db.ClaimRequiredAsync();
        Assert.Equal(changed.Content, claimed.SpecContent);
        Assert.Equal(["docs"], claimed.Modifies);
        Assert.Equal(["docs"], (await db.Store.ListLocksAsync()).Select(held => held.Path));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_ChangedCompletedTask(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        var original = Spec("web", "a");
        await db.ImportAsync(original);
        var claimed = await db.ClaimRequiredAsync();
        Assert.True(await db.CompleteAsync(claimed.Lease));
        var eventCount = (await db.GetEventsAsync()).Count;

        var summary = await db.ImportAsync(Spec("web", "a", body: "## Goal\nDo more.\n"));

        Assert.Equal([new TaskKey("web", "a")], summary.CompletedChanged);
        Assert.Equal(0, summary.Updated);
        var task = await db.GetTaskAsync("web", "a");
        Assert.Equal(TaskStates.Completed, task.State);
        Assert.Equal(original.ContentHash, task.SpecHash);
        Assert.Equal(eventCount, (await db.GetEventsAsync()).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Import_ChineseTextRoundTrips(string backend)
    {
        await using var db = await TestStore.CreateAsync(backend);
        const string body = "## 目标\n把日志模块改写为结构化日志，保留原有的中文提示。\n";
        var metadata = new Dictionary<string, string> { ["标题"] = "\"重构日志模块\"", ["负责人"] = "张三" };
        var spec = Spec("文档站", "docs-01", modifies: ["文档/说明.md"], body: body, metadata: metadata) with
        {
            SourcePath = "specs/文档站/任务-01.md",
        };
        await db.ImportAsync(spec, Spec("文档站", "docs-02", priority: 3, modifies: ["文档"]));

        var task = await db.GetTaskAsync("文档站", "docs-01");
        Assert.Equal("文档站", task.Project);
        Assert.Equal("specs/文档站/任务-01.md", task.SpecPath);
        Assert.Equal(["文档/说明.md"], JsonSerializer.Deserialize<string[]>(task.Modifies)!);

        var storedMetadata = JsonSerializer.Deserialize<Dictionary<string, string>>(await db.QueryScalarAsync<string>(
            db.Backend == TestStore.Postgres
                ? $"SELECT metadata::text FROM tasks WHERE id = {task.Id}"
                : $"SELECT metadata FROM tasks WHERE id = {task.Id}") ?? "null");
        Assert.Equal(new Dictionary<string, string> { ["标题"] = "重构日志模块", ["负责人"] = "张三" }, storedMetadata);

        var importedEvent = Assert.Single(await db.GetEventsAsync(task.Key));
        Assert.Equal("specs/文档站/任务-01.md", JsonDocument.Parse(importedEvent.Details).RootElement.GetProperty("path").GetString());

        var claimed = await db.ClaimRequiredAsync();
        Assert.Equal(task.Key, claimed.Lease.Key);
        Assert.Equal(spec.Content, claimed.SpecContent);
        Assert.Equal(["文档/说明.md"], claimed.Modifies);

        // "文档" is a directory prefix of "文档/说明.md", so docs-02 waits.
        Assert.Null(await db.ClaimAsync("worker-2"));

        const string error = "执行器超时：超过 30 分钟";
        Assert.True(await db.Store.FinishAsync(claimed.Lease, new RunResult(false, 124, error, "logs/文档站/docs-01.log")));
        Assert.Equal(error, (await db.GetTaskAsync(task.Key)).LastError);
        Assert.Equal(error, Assert.Single(await db.Store.GetAttemptsAsync(task.Id)).Error);
        Assert.Equal("logs/文档站/docs-01.log", Assert.Single(await db.Store.GetAttemptsAsync(task.Id)).LogPath);
        var failedEvent = (await db.GetEventsAsync(task.Key))[^1];
        Assert.Equal(TaskStates.Failed, failedEvent.Type);
        Assert.Equal(error, JsonDocument.Parse(failedEvent.Details).RootElement.GetProperty("error").GetString());
    }
}
