using Npgsql;

namespace Dispatch.Storage;

public enum DatabaseBackend
{
    Sqlite,
    Postgres,
}

/// <summary>Raised for a database setting that cannot be used; the message is safe to print.</summary>
public sealed class DatabaseConfigurationException(string message) : Exception(message);

/// <summary>
/// Where the store lives: the backend, a provider connection string, and a
/// display form with the password masked for logs and errors.
/// </summary>
public sealed record DatabaseTarget(DatabaseBackend Backend, string ConnectionString, string Display)
{
    public const string DefaultSqlitePath = "dispatch.db";

    /// <summary>
    /// Parses <c>DISPATCH_DB_URL</c>: a <c>postgresql://</c> or <c>postgres://</c> URI,
    /// an Npgsql key/value string, or a SQLite file path (also <c>sqlite:PATH</c>).
    /// <paramref name="backend"/> (<c>sqlite</c> | <c>postgres</c>) is optional and inferred when absent.
    /// </summary>
    public static DatabaseTarget Parse(string? url, string? backend)
    {
        var requested = ParseBackend(backend);
        url = string.IsNullOrWhiteSpace(url) ? null : url.Trim();

        if (url is null)
        {
            if (requested == DatabaseBackend.Postgres)
            {
                throw new DatabaseConfigurationException(
                    "DISPATCH_DB_BACKEND is \"postgres\" but DISPATCH_DB_URL is not set: " +
                    "set DISPATCH_DB_URL to a URI such as postgresql://user:password@localhost:5432/dispatch.");
            }

            return Sqlite(DefaultSqlitePath);
        }

        var looksLikePostgres = IsPostgresUri(url) || LooksLikeKeyValue(url);
        var inferred = looksLikePostgres ? DatabaseBackend.Postgres : DatabaseBackend.Sqlite;
        if (requested is DatabaseBackend chosen && chosen != inferred)
        {
            throw new DatabaseConfigurationException(
                $"DISPATCH_DB_BACKEND is \"{backend}\" but DISPATCH_DB_URL \"{MaskForDisplay(url)}\" looks like a " +
                $"{Name(inferred)} location: make the two agree, or leave DISPATCH_DB_BACKEND unset to infer it.");
        }

        return inferred == DatabaseBackend.Postgres ? Postgres(url) : Sqlite(url);
    }

    private static DatabaseBackend? ParseBackend(string? backend)
    {
        if (string.IsNullOrWhiteSpace(backend))
        {
            return null;
        }

        return backend.Trim().ToLowerInvariant() switch
        {
            "sqlite" => DatabaseBackend.Sqlite,
            "postgres" or "postgresql" => DatabaseBackend.Postgres,
            _ => throw new DatabaseConfigurationException(
                $"DISPATCH_DB_BACKEND \"{backend}\" is not valid: use \"sqlite\" or \"postgres\", or leave it unset."),
        };
    }

    private static string Name(DatabaseBackend backend) => backend == DatabaseBackend.Postgres ? "postgres" : "sqlite";

    private static bool IsPostgresUri(string url) =>
        url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) ||
        url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// True for text shaped like <c>Key=Value;Key=Value</c>: a SQLite path with both
    /// '=' and ';' is far less likely than a connection string missing its host, which
    /// must be rejected with a clear message rather than become a file name.
    /// </summary>
    private static bool LooksLikeKeyValue(string url) =>
        System.Text.RegularExpressions.Regex.IsMatch(url, @"^\s*[A-Za-z][A-Za-z ]*=[^;]*(;\s*[A-Za-z][A-Za-z ]*=[^;]*)*;?\s*$") &&
        (url.Contains(';') || url.Contains("host", StringComparison.OrdinalIgnoreCase) || url.Contains("server", StringComparison.OrdinalIgnoreCase));

    private static DatabaseTarget Sqlite(string location)
    {
        var path = location.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? location["sqlite:".Length..] : location;
        if (path.StartsWith("//", StringComparison.Ordinal))
        {
            path = path[2..];
        }

        if (path.Length == 0 || path.Contains("://", StringComparison.Ordinal))
        {
            throw new DatabaseConfigurationException(
                $"DISPATCH_DB_URL \"{MaskForDisplay(location)}\" is not a PostgreSQL URI nor a SQLite file path: " +
                "use postgresql://user:password@host:5432/db, an Npgsql string such as Host=...;Database=..., or a file path such as dispatch.db.");
        }

        var full = Path.GetFullPath(path);
        var connection = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadWriteCreate,
            Cache = Microsoft.Data.Sqlite.SqliteCacheMode.Private,
            DefaultTimeout = 30,
            Pooling = true,
        };
        return new DatabaseTarget(DatabaseBackend.Sqlite, connection.ToString(), "sqlite:" + full);
    }

    private static DatabaseTarget Postgres(string url)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = IsPostgresUri(url) ? FromUri(url) : new NpgsqlConnectionStringBuilder(url);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException or KeyNotFoundException)
        {
            throw new DatabaseConfigurationException(
                $"DISPATCH_DB_URL \"{MaskForDisplay(url)}\" is not a valid PostgreSQL location ({ex.Message}): " +
                "use postgresql://user:password@host:5432/db or Host=host;Port=5432;Database=db;Username=user;Password=...");
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new DatabaseConfigurationException(
                $"DISPATCH_DB_URL \"{MaskForDisplay(url)}\" names no host: add one, as in postgresql://user:password@localhost:5432/dispatch.");
        }

        builder.ApplicationName ??= "dispatch";

        // The same few statements run on every claim; preparing them saves their planning time.
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 50;
        }

        // Npgsql tries GSS encryption by default and warns on every connection when no Kerberos
        // library is installed, as in the .NET runtime images. So it is off unless the URL asks for it.
        if (!url.Contains("gss", StringComparison.OrdinalIgnoreCase))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }

        if (builder.Timeout == 15)
        {
            builder.Timeout = 5;
        }

        var display = $"postgresql://{(builder.Username is null ? "" : builder.Username + (builder.Password is null ? "" : ":***") + "@")}" +
                      $"{builder.Host}:{builder.Port}/{builder.Database}";
        return new DatabaseTarget(DatabaseBackend.Postgres, builder.ConnectionString, display);
    }

    private static NpgsqlConnectionStringBuilder FromUri(string url)
    {
        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            builder[key switch
            {
                "sslmode" => "SSL Mode",
                "application_name" => "Application Name",
                "connect_timeout" => "Timeout",
                _ => key,
            }] = value;
        }

        return builder;
    }

    /// <summary>Masks the password of a URI or key/value string so the result can be logged.</summary>
    public static string MaskForDisplay(string value)
    {
        // Any scheme is masked, not only postgresql://, because a URL meant for another database also appears in error messages.
        var scheme = System.Text.RegularExpressions.Regex.Match(value, "^[A-Za-z][A-Za-z0-9+.-]*://");
        if (scheme.Success)
        {
            var schemeEnd = scheme.Length;
            var masked = value;
            var at = value.LastIndexOf('@');
            if (at > schemeEnd)
            {
                var userInfo = value[schemeEnd..at];
                var colon = userInfo.IndexOf(':');
                if (colon >= 0)
                {
                    masked = value[..(schemeEnd + colon + 1)] + "***" + value[at..];
                }
            }

            // libpq URIs may also carry the password as a query parameter.
            return System.Text.RegularExpressions.Regex.Replace(masked, @"(?i)([?&](?:password|pwd)=)[^&#]*", "$1***");
        }

        return System.Text.RegularExpressions.Regex.Replace(
            value, @"(?i)(password|pwd)\s*=\s*[^;]*", "$1=***");
    }
}
