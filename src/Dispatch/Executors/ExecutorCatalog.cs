namespace Dispatch.Executors;

/// <summary>
/// The executors a worker offers. An entry named <c>*</c> serves every
/// executor name that has no entry of its own.
/// </summary>
public sealed class ExecutorCatalog
{
    public const string Wildcard = "*";

    private readonly IReadOnlyDictionary<string, ExecutorDefinition> definitions;

    public ExecutorCatalog(IReadOnlyDictionary<string, ExecutorDefinition> definitions)
    {
        var usable = definitions.Where(d => d.Value.Command.Length > 0).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);
        this.definitions = usable;
    }

    /// <summary>True when a <c>*</c> entry makes the worker accept any executor name.</summary>
    public bool ServesAll => definitions.ContainsKey(Wildcard);

    /// <summary>The named executors, without the wildcard.</summary>
    public IReadOnlyList<string> Names => definitions.Keys.Where(k => k != Wildcard).Order(StringComparer.Ordinal).ToList();

    public ExecutorDefinition? Find(string name) =>
        definitions.TryGetValue(name, out var definition) ? definition
        : definitions.TryGetValue(Wildcard, out var wildcard) ? wildcard
        : null;
}
