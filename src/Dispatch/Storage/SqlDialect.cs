using System.Data.Common;

namespace Dispatch.Storage;

/// <summary>
/// What differs between SQLite and PostgreSQL for the shared SQL in
/// <see cref="SqlStore"/>: connections, write transactions, time and JSON
/// expressions, and the extra locking a concurrent claim needs.
/// </summary>
public abstract class SqlDialect
{
    public abstract DatabaseBackend Backend { get; }

    /// <summary>The folder under Storage/Migrations that contains this dialect's scripts.</summary>
    public abstract string MigrationFolder { get; }

    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction; SQLite takes the write lock at once (IMMEDIATE).</summary>
    public abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>SQL for "now": the <c>@now</c> parameter, or the database clock when it is null.</summary>
    public abstract string Now { get; }

    /// <summary>SQL for <c>@now</c> plus <paramref name="secondsParameter"/> seconds.</summary>
    public abstract string NowPlusSeconds(string secondsParameter);

    /// <summary>SQL that turns a text parameter into the JSON column type.</summary>
    public abstract string Json(string parameter);

    /// <summary>SQL testing <paramref name="column"/> against a list parameter (Dapper expands lists for SQLite, passes arrays to PostgreSQL).</summary>
    public abstract string InList(string column, string parameter);

    /// <summary>Row-locking clause appended to the claim candidate query.</summary>
    public abstract string ClaimLockClause { get; }

    /// <summary>
    /// Serialises claims within one project for the rest of the transaction. With
    /// <paramref name="wait"/> false it returns false at once when another transaction holds the lock.
    /// </summary>
    public abstract Task<bool> LockProjectForClaimAsync(DbConnection connection, DbTransaction transaction, string project, bool wait, CancellationToken cancellationToken);

    /// <summary>Serialises imports for the rest of the transaction; SQLite's write lock already does.</summary>
    public virtual Task LockImportAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>Holds the migration lock around <paramref name="body"/>.</summary>
    public abstract Task<T> WithMigrationLockAsync<T>(DbConnection connection, Func<DbTransaction, Task<T>> body, CancellationToken cancellationToken);

    /// <summary>Converts a time for a parameter: a UTC DateTimeOffset for PostgreSQL, Unix milliseconds for SQLite.</summary>
    public abstract object? TimeValue(DateTimeOffset? value);

    /// <summary>Runs after a transition commits; PostgreSQL sends a NOTIFY so waiting workers wake up.</summary>
    public virtual Task NotifyAsync(DbConnection connection, DbTransaction transaction, string channel, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}
