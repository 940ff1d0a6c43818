using Dispatch.Scheduling;
using Dispatch.Specs;
using Xunit;
using Xunit.Abstractions;

namespace Dispatch.Tests.Specs;

/// <summary>
/// Runs the loader and the resolver over the real specs in shared/corpus, found
/// by walking up from the test binaries. Passes without checks when the corpus
/// is not present (xunit 2 cannot mark a test skipped at run time).
/// </summary>
public class SpecCorpusTests(ITestOutputHelper output)
{
    internal static string? FindCorpus()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "corpus");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [Fact]
    public void Corpus_MostFilesParse()
    {
        var corpus = FindCorpus();
        if (corpus is null)
        {
            output.WriteLine("shared/corpus not found above the test directory; nothing checked");
            return;
        }

        var result = SpecDirectoryLoader.LoadAll(corpus);

        output.WriteLine($"files scanned: {result.FilesScanned}, specs: {result.Specs.Count}, rejected: {result.Rejected.Count}, warnings: {result.Warnings.Count}");
        foreach (var diagnostic in result.Rejected.Concat(result.Warnings).Take(40))
        {
            output.WriteLine(diagnostic.ToString());
        }

        Assert.True(result.FilesScanned > 0);
        Assert.Equal(result.FilesScanned, result.Specs.Count + result.Rejected.Count);
        Assert.True(result.Specs.Count >= result.FilesScanned * 0.9,
            $"only {result.Specs.Count} of {result.FilesScanned} corpus files parsed");
        Assert.All(result.Rejected, diagnostic => Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity));
    }

    [Fact]
    public void Corpus_DependenciesResolve()
    {
        var corpus = FindCorpus();
        if (corpus is null)
        {
            return;
        }

        var specs = SpecDirectoryLoader.LoadAll(corpus).Specs;

        var resolutions = DependencyResolver.Resolve(specs.Select(TaskDependencies.FromSpec).ToList());

        var blocked = resolutions.Where(pair => pair.Value.IsBlocked).OrderBy(pair => pair.Key.ToString(), StringComparer.Ordinal).ToList();
        output.WriteLine($"tasks: {resolutions.Count}, blocked: {blocked.Count}");
        foreach (var (key, resolution) in blocked)
        {
            output.WriteLine($"{key}: {resolution.BlockedReason}");
        }

        Assert.Equal(specs.Count, resolutions.Count);
        Assert.True(blocked.Count < resolutions.Count / 2);
    }
}
