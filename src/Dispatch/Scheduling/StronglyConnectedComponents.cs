namespace Dispatch.Scheduling;

/// <summary>
/// Tarjan's strongly connected components over a graph of nodes 0..n-1, with
/// an explicit stack so that long dependency chains cannot overflow the call stack.
/// </summary>
internal sealed class StronglyConnectedComponents
{
    /// <summary>The component index of each node.</summary>
    public required int[] ComponentOf { get; init; }

    /// <summary>The nodes of each component, in ascending order.</summary>
    public required List<List<int>> Members { get; init; }

    public static StronglyConnectedComponents Find(IReadOnlyList<List<int>> edges)
    {
        var count = edges.Count;
        var order = new int[count];
        var low = new int[count];
        var onStack = new bool[count];
        var componentOf = new int[count];
        Array.Fill(order, -1);

        var members = new List<List<int>>();
        var stack = new Stack<int>();
        var calls = new Stack<(int Node, int NextEdge)>();
        var counter = 0;

        for (var root = 0; root < count; root++)
        {
            if (order[root] >= 0)
            {
                continue;
            }

            Visit(root);
            while (calls.Count > 0)
            {
                var (node, nextEdge) = calls.Pop();
                if (nextEdge < edges[node].Count)
                {
                    calls.Push((node, nextEdge + 1));
                    var target = edges[node][nextEdge];
                    if (order[target] < 0)
                    {
                        Visit(target);
                    }
                    else if (onStack[target])
                    {
                        low[node] = Math.Min(low[node], order[target]);
                    }

                    continue;
                }

                if (low[node] == order[node])
                {
                    var component = new List<int>();
                    int member;
                    do
                    {
                        member = stack.Pop();
                        onStack[member] = false;
                        componentOf[member] = members.Count;
                        component.Add(member);
                    }
                    while (member != node);

                    component.Sort();
                    members.Add(component);
                }

                if (calls.Count > 0)
                {
                    var caller = calls.Peek().Node;
                    low[caller] = Math.Min(low[caller], low[node]);
                }
            }
        }

        return new StronglyConnectedComponents { ComponentOf = componentOf, Members = members };

        void Visit(int node)
        {
            order[node] = low[node] = counter++;
            stack.Push(node);
            onStack[node] = true;
            calls.Push((node, 0));
        }
    }
}
