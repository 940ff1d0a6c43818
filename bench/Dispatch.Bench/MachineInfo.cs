using System.Runtime.InteropServices;
using Dapper;
using Npgsql;

namespace Dispatch.Bench;

/// <summary>The facts about the machine and the servers that a measured number needs beside it.</summary>
internal static class MachineInfo
{
    public static IEnumerable<string> Describe()
    {
        yield return $"cpus (nproc): {Environment.ProcessorCount}";
        yield return $"cpu model: {ReadCpuModel() ?? "unknown (no /proc/cpuinfo)"}";
        yield return $"memory: {ReadMemory() ?? "unknown (no /proc/meminfo)"}";
        yield return $"os: {RuntimeInformation.OSDescription}";
        yield return $".NET: {RuntimeInformation.FrameworkDescription}";
        yield return $"SQLite: {ReadSqliteVersion()}";
    }

    public static async Task<string> DescribePostgresAsync(string url)
    {
        var target = Dispatch.Storage.DatabaseTarget.Parse(url, "postgres");
        await using var connection = new NpgsqlConnection(target.ConnectionString);
        await connection.OpenAsync();
        var version = await connection.ExecuteScalarAsync<string>("SHOW server_version");
        var fsync = await connection.ExecuteScalarAsync<string>("SHOW fsync");
        var synchronousCommit = await connection.ExecuteScalarAsync<string>("SHOW synchronous_commit");
        return $"PostgreSQL {version} at {target.Display} (fsync={fsync}, synchronous_commit={synchronousCommit})";
    }

    private static string? ReadCpuModel()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path))
        {
            return null;
        }

        var line = File.ReadLines(path).FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal));
        return line?[(line.IndexOf(':') + 1)..].Trim();
    }

    private static string? ReadMemory()
    {
        const string path = "/proc/meminfo";
        if (!File.Exists(path))
        {
            return null;
        }

        var line = File.ReadLines(path).FirstOrDefault(line => line.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kilobytes = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1);
        return long.TryParse(kilobytes, out var value) ? $"{value / 1024.0 / 1024.0:0.0} GiB (MemTotal)" : null;
    }

    private static string ReadSqliteVersion()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection.ExecuteScalar<string>("SELECT sqlite_version()") ?? "unknown";
    }
}
