namespace Dispatch.Daemons;

/// <summary>What one pass of a daemon did: a count per kind of action, for logs, tests and metrics.</summary>
public sealed class PassResult
{
    private readonly SortedDictionary<string, int> counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> Counts => counts;

    public int this[string action] => counts.GetValueOrDefault(action);

    public bool DidAnything => counts.Values.Any(v => v > 0);

    public PassResult Add(string action, int count)
    {
        if (count != 0)
        {
            counts[action] = counts.GetValueOrDefault(action) + count;
        }

        return this;
    }

    public override string ToString() =>
        counts.Count == 0 ? "nothing" : string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"));
}
