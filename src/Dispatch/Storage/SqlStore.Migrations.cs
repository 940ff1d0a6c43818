using System.Globalization;
using Dapper;
using Dispatch.Storage.Migrations;

namespace Dispatch.Storage;

public sealed partial class SqlStore
{
    public IReadOnlyList<Migration> Migrations => Migration.Load(dialect.MigrationFolder);

    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var migrations = Migrations;
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;

        await using var connection = await dialect.OpenAsync(cancellationToken);
        return await dialect.WithMigrationLockAsync(connection, async transaction =>
        {
            await connection.ExecuteAsync(new CommandDefinition(Migration.BookkeepingTable, transaction: transaction, cancellationToken: cancellationToken));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition(
                "SELECT version FROM schema_migrations", transaction: transaction, cancellationToken: cancellationToken))).ToHashSet();

            var newest = applied.Count == 0 ? 0 : applied.Max();
            if (newest > latest)
            {
                throw new SchemaTooNewException(
                    $"the database at {Target.Display} has schema version {newest}, newer than this build of dispatch knows ({latest}): " +
                    "upgrade dispatch to the version that migrated it, or point DISPATCH_DB_URL at another database.");
            }

            var count = 0;
            foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
            {
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)",
                    new
                    {
                        version = migration.Version,
                        name = migration.Name,
                        appliedAt = clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
                    },
                    transaction, cancellationToken: cancellationToken));
                count++;
            }

            return count;
        }, cancellationToken);
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        return await ReadAsync(async connection =>
        {
            var exists = dialect.Backend == DatabaseBackend.Postgres
                ? await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    "SELECT to_regclass('schema_migrations') IS NOT NULL", cancellationToken: cancellationToken))
                : await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", cancellationToken: cancellationToken)) > 0;
            if (!exists)
            {
                return 0;
            }

            return await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                "SELECT MAX(version) FROM schema_migrations", cancellationToken: cancellationToken)) ?? 0;
        }, cancellationToken);
    }
}
