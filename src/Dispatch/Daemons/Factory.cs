using System.Diagnostics;
using Dispatch.Scheduling;
using Dispatch.Specs;
using Dispatch.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Daemons;

/// <summary>A per-project command that writes new spec files when the project runs low on pending tasks.</summary>
public sealed class GeneratorOptions
{
    /// <summary>Program and arguments; runs in the project's spec folder with DISPATCH_PROJECT and DISPATCH_SPECS_DIR set.</summary>
    public string[] Command { get; set; } = [];

    /// <summary>The generator runs when fewer than this many of the project's tasks are pending.</summary>
    public int MinPending { get; set; } = 1;

    public double TimeoutSeconds { get; set; } = 600;
}

/// <summary>Settings of the factory, under <c>Factory</c> in configuration.</summary>
public sealed class FactoryOptions
{
    /// <summary>The folder scanned for specs, one sub-folder per project; also <c>DISPATCH_SPECS_DIR</c>.</summary>
    public string? SpecsDir { get; set; }

    /// <summary>Generators by project name; none by default.</summary>
    public Dictionary<string, GeneratorOptions> Generators { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Turns spec files into tasks: each pass scans the specs folder and, when
/// any file changed since the last pass, imports new and changed specs and
/// records each newly rejected file as a <c>spec_rejected</c> event. Then it
/// runs the generators of projects that are low on pending tasks.
/// </summary>
public sealed partial class Factory : DaemonLoop
{
    private readonly SqlStore store;
    private readonly FactoryOptions factory;
    private readonly ImportDefaults defaults;
    private readonly HashSet<string> reportedRejects = new(StringComparer.Ordinal);
    private string? lastFingerprint;
    private readonly ILogger logger;

    public Factory(SqlStore store, DaemonOptions options, FactoryOptions factory, ImportDefaults defaults, TimeProvider clock, ILogger logger,
        WakeSignal? wake = null, string? hangFile = null)
        : base("factory", options, clock, logger, wake, hangFile)
    {
        this.store = store;
        this.logger = logger;
        this.factory = factory;
        this.defaults = defaults;
    }

    public override async Task<PassResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var result = new PassResult();

        // Touch the database on every pass, so /health reports an outage even while no spec changes.
        await store.PingAsync(cancellationToken);
        var directory = factory.SpecsDir;
        if (string.IsNullOrWhiteSpace(directory))
        {
            return result;
        }

        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"specs folder \"{directory}\" not found: create it, or fix --specs or DISPATCH_SPECS_DIR.");
        }

        var fingerprint = Fingerprint(directory);
        if (fingerprint != lastFingerprint)
        {
            var loaded = SpecDirectoryLoader.LoadAll(directory);
            var summary = await store.ImportAsync(loaded.Specs, defaults, cancellationToken);
            foreach (var rejected in loaded.Rejected.Where(r => reportedRejects.Add(r.ToString())))
            {
                await store.AppendEventAsync("spec_rejected", null, null, new { path = rejected.Path, line = rejected.Line, error = rejected.Message }, cancellationToken);
                LogRejected(rejected.ToString());
                result.Add("rejected", 1);
            }

            result.Add("imported", summary.Imported).Add("updated", summary.Updated).Add("blocked", summary.Blocked);

            // A change to a running task is imported only after its attempt ends: keep scanning until then.
            lastFingerprint = summary.InFlightChanged.Count > 0 ? null : fingerprint;
        }

        foreach (var (project, generator) in factory.Generators)
        {
            result.Add("generated", await RunGeneratorIfLowAsync(directory, project, generator, cancellationToken));
        }

        return result;
    }

    /// <summary>
    /// The files the fingerprint covers: <c>*.md</c> in any case, hidden files and folders skipped and
    /// unreadable folders ignored, as <see cref="SpecDirectoryLoader"/> does. A case-sensitive match
    /// would miss a new <c>X.MD</c> that the loader reads.
    /// </summary>
    private static readonly EnumerationOptions SpecFiles = new()
    {
        RecurseSubdirectories = true,
        MatchCasing = MatchCasing.CaseInsensitive,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
    };

    /// <summary>Summarises the folder's files (path, size, modification time) so an unchanged folder skips the import.</summary>
    private static string Fingerprint(string directory)
    {
        var hash = new HashCode();
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(directory, "*.md", SpecFiles).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            hash.Add(file);
            hash.Add(info.Length);
            hash.Add(info.LastWriteTimeUtc.Ticks);
            count++;
        }

        return $"{count}:{hash.ToHashCode()}";
    }

    private async Task<int> RunGeneratorIfLowAsync(string directory, string project, GeneratorOptions generator, CancellationToken cancellationToken)
    {
        if (generator.Command.Length == 0)
        {
            return 0;
        }

        var counts = await store.CountByStateAsync(project, cancellationToken);
        var pending = counts.Where(c => c.State == TaskStates.Pending).Sum(c => c.Count);
        if (pending >= generator.MinPending)
        {
            return 0;
        }

        var folder = Path.Combine(directory, project);
        Directory.CreateDirectory(folder);
        var startInfo = new ProcessStartInfo(generator.Command[0]) { WorkingDirectory = folder, UseShellExecute = false };
        foreach (var argument in generator.Command.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DISPATCH_PROJECT"] = project;
        startInfo.Environment["DISPATCH_SPECS_DIR"] = Path.GetFullPath(directory);
        startInfo.Environment["DISPATCH_DB_URL"] = "";
        using var process = Process.Start(startInfo)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(generator.TimeoutSeconds));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"generator of project {project} did not finish within {generator.TimeoutSeconds} s");
        }

        LogGenerated(project, pending, process.ExitCode);
        lastFingerprint = null;
        return 1;
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "Spec rejected: {Diagnostic}")]
    private partial void LogRejected(string diagnostic);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Generator of project {Project} ran ({Pending} pending tasks), exit code {ExitCode}")]
    private partial void LogGenerated(string project, long pending, int exitCode);
}
