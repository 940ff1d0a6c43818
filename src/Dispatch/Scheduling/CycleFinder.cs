namespace Dispatch.Scheduling;

/// <summary>Finds the shortest cycle through a node by breadth-first search inside its component.</summary>
internal sealed class CycleFinder(IReadOnlyList<List<int>> edges, int[] componentOf)
{
    private readonly int[] parent = new int[edges.Count];
    private readonly int[] visitedIn = CreateFilled(edges.Count, -1);
    private int search;

    /// <summary>
    /// Returns the nodes of a shortest cycle that starts at <paramref name="start"/>,
    /// each once, in dependency order. <paramref name="start"/> must be on a cycle.
    /// </summary>
    public IReadOnlyList<int> ShortestCycleThrough(int start)
    {
        search++;
        var queue = new Queue<int>();
        queue.Enqueue(start);
        visitedIn[start] = search;

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var next in edges[node])
            {
                if (next == start)
                {
                    return PathTo(start, node);
                }

                if (componentOf[next] != componentOf[start] || visitedIn[next] == search)
                {
                    continue;
                }

                visitedIn[next] = search;
                parent[next] = node;
                queue.Enqueue(next);
            }
        }

        // Not reached for a node on a cycle. A node on no cycle gets a path of itself alone.
        return [start];
    }

    private List<int> PathTo(int start, int last)
    {
        var path = new List<int>();
        for (var node = last; node != start; node = parent[node])
        {
            path.Add(node);
        }

        path.Add(start);
        path.Reverse();
        return path;
    }

    private static int[] CreateFilled(int length, int value)
    {
        var array = new int[length];
        Array.Fill(array, value);
        return array;
    }
}
