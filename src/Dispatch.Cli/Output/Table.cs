namespace Dispatch.Cli.Output;

/// <summary>A plain text table with aligned columns, sized by display width.</summary>
internal sealed class Table(params string[] headers)
{
    private const int MaxCellWidth = 60;
    private readonly List<string[]> rows = [];

    public void Add(params string?[] cells) =>
        rows.Add(cells.Select(c => TextWidth.Truncate((c ?? "").ReplaceLineEndings(" "), MaxCellWidth)).ToArray());

    public void Write(TextWriter output)
    {
        var widths = headers.Select(TextWidth.Of).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length && i < widths.Length; i++)
            {
                widths[i] = Math.Max(widths[i], TextWidth.Of(row[i]));
            }
        }

        WriteRow(output, headers, widths);
        foreach (var row in rows)
        {
            WriteRow(output, row, widths);
        }
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var parts = cells.Select((cell, i) => i == cells.Length - 1 ? cell : TextWidth.PadRight(cell, widths[i]));
        output.WriteLine(string.Join("  ", parts).TrimEnd());
    }
}
