using Dispatch.Storage;
using Dispatch.Storage.Migrations;
using Dispatch.Tests.EndToEnd;
using Npgsql;

namespace Dispatch.Tests.Schema;

/// <summary>schema.sql at the repository root must be exactly what the migrations create.</summary>
public sealed class SchemaScriptTests
{
    [Fact]
    public void SchemaFileMatchesMigrations()
    {
        var file = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "schema.sql"));
        var rendered = SchemaScript.Render(Migration.Load("Postgres"));
        Assert.True(file == rendered, "schema.sql is out of date: regenerate it with ./dispatch schema > schema.sql");
    }

    [Fact]
    public async Task SchemaFileEqualsMigratedDatabase()
    {
        var directory = Directory.CreateTempSubdirectory("dispatch-schema-").FullName;
        await using var migrated = await TestDatabase.CreateAsync("postgres", directory);
        await using var fromScript = await TestDatabase.CreateAsync("postgres", directory);

        await using (var store = SqlStore.Create(DatabaseTarget.Parse(migrated.Url, null)))
        {
            Assert.True(await store.MigrateAsync() > 0);
        }

        await using (var connection = new NpgsqlConnection(DatabaseTarget.Parse(fromScript.Url, null).ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "schema.sql")), connection);
            await command.ExecuteNonQueryAsync();
        }

        // A database created from schema.sql counts as migrated: start-up migrations add nothing.
        await using (var store = SqlStore.Create(DatabaseTarget.Parse(fromScript.Url, null)))
        {
            Assert.Equal(0, await store.MigrateAsync());
        }

        Assert.Equal(await DescribeAsync(migrated.Url), await DescribeAsync(fromScript.Url));
    }

    /// <summary>Lists every column with its type, nullability and default, and every index definition.</summary>
    private static async Task<List<string>> DescribeAsync(string url)
    {
        await using var connection = new NpgsqlConnection(DatabaseTarget.Parse(url, null).ConnectionString);
        await connection.OpenAsync();
        var lines = new List<string>();
        await using (var columns = new NpgsqlCommand(
            """
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1
            """, connection))
        await using (var reader = await columns.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0));
            }
        }

        await using (var indexes = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1", connection))
        await using (var reader = await indexes.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0));
            }
        }

        Assert.NotEmpty(lines);
        return lines;
    }
}
