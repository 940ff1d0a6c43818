using System.Text;

namespace Dispatch.Executors;

/// <summary>
/// A log file that keeps at most <c>maxBytes</c> of the newest output. Writes
/// go to the file. When it grows past twice the cap, it is rewritten with only
/// its tail, so the cost stays linear and the end of a long run survives.
/// </summary>
internal sealed class CappedLog : IDisposable
{
    private readonly string path;
    private readonly long maxBytes;
    private readonly object gate = new();
    private readonly FileStream stream;

    public CappedLog(string path, long maxBytes)
    {
        this.path = path;
        this.maxBytes = Math.Max(1024, maxBytes);
        stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
    }

    public void WriteLine(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (gate)
        {
            stream.Write(bytes);
            stream.Flush();
            if (stream.Length > 2 * maxBytes)
            {
                KeepTail();
            }
        }
    }

    private void KeepTail()
    {
        var tail = new byte[maxBytes];
        stream.Seek(-maxBytes, SeekOrigin.End);
        stream.ReadExactly(tail);

        // Start at a line boundary so the first kept line is whole.
        var start = Array.IndexOf(tail, (byte)'\n') + 1;
        stream.SetLength(0);
        stream.Seek(0, SeekOrigin.Begin);
        stream.Write(Encoding.UTF8.GetBytes($"[dispatch: earlier output dropped, log capped at {maxBytes} bytes]\n"));
        stream.Write(tail, start, tail.Length - start);
        stream.Flush();
    }

    public void Dispose()
    {
        lock (gate)
        {
            stream.Dispose();
        }
    }

    public override string ToString() => path;
}
