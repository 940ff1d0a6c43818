using Dispatch.Configuration;
using Dispatch.Storage;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Dispatch.Cli.Commands;

/// <summary>A command-line error whose message is printed as is, with the exit code it carries.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}

/// <summary>Configuration, options and the store, built once per command from the environment.</summary>
internal sealed class CliContext
{
    private readonly Lazy<IConfigurationRoot> configuration = new(() => DispatchConfiguration.Build());

    public TextWriter Out { get; init; } = Console.Out;
    public TextWriter Error { get; init; } = Console.Error;

    public IConfigurationRoot Configuration => configuration.Value;

    public DispatchOptions LoadOptions()
    {
        DispatchOptions options;
        try
        {
            options = DispatchConfiguration.BindOptions(Configuration);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the setting and the value it could not convert.
            throw new CliException($"invalid configuration: {ex.Message}{(ex.InnerException is null ? "" : " " + ex.InnerException.Message)}");
        }

        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new CliException("invalid configuration:\n  " + string.Join("\n  ", problems));
        }

        return options;
    }

    public DatabaseTarget DatabaseTarget() =>
        Storage.DatabaseTarget.Parse(Configuration["DB_URL"], Configuration["DB_BACKEND"]);

    /// <summary>
    /// Opens the store for a command that only reads it: a SQLite file that does not
    /// exist is an error naming the path, instead of a new empty store.
    /// </summary>
    public Task<SqlStore> OpenExistingStoreAsync(CancellationToken cancellationToken)
    {
        var target = DatabaseTarget();
        if (target.Backend == DatabaseBackend.Sqlite)
        {
            var path = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(target.ConnectionString).DataSource;
            if (!File.Exists(path))
            {
                throw new CliException(
                    $"no store at {path}: run this command in the folder where you ran 'dispatch up' or 'dispatch start', or set DISPATCH_DB_URL.");
            }
        }

        return OpenStoreAsync(cancellationToken);
    }

    /// <summary>Opens the store and applies pending migrations, as every process does at start-up.</summary>
    public async Task<SqlStore> OpenStoreAsync(CancellationToken cancellationToken, TimeProvider? clock = null)
    {
        var store = SqlStore.Create(DatabaseTarget(), clock);
        try
        {
            await store.MigrateAsync(cancellationToken);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command body and turns every expected failure into one error line and an exit code.</summary>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (CliException ex)
        {
            Error.WriteLine($"error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (Exception ex) when (ex is DatabaseConfigurationException or StoreUnavailableException or SchemaTooNewException)
        {
            Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
        {
            Error.WriteLine($"error: database operation failed on {SafeDisplay()}: {DatabaseTarget_Mask(ex.Message)}");
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException)
        {
            Error.WriteLine("interrupted");
            return 130;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FileNotFoundException or InvalidDataException)
        {
            // A JSON syntax error in the configuration file carries its line and reason in the inner exception.
            var detail = ex.InnerException is null ? "" : $": {ex.InnerException.Message}";
            Error.WriteLine($"error: {ex.Message}{detail}");
            return ExitCodes.Failure;
        }
        catch (Exception ex)
        {
            Error.WriteLine($"error: unexpected {ex.GetType().Name}: {DatabaseTarget_Mask(ex.Message)}");
            if (Environment.GetEnvironmentVariable("DISPATCH_DEBUG") == "1")
            {
                Error.WriteLine(ex);
            }
            else
            {
                Error.WriteLine("  (set DISPATCH_DEBUG=1 to print the stack trace, and please report this as a bug)");
            }

            return ExitCodes.Failure;
        }
    }

    private string SafeDisplay()
    {
        try
        {
            return DatabaseTarget().Display;
        }
        catch (DatabaseConfigurationException)
        {
            return "the configured database";
        }
    }

    private static string DatabaseTarget_Mask(string message) => Storage.DatabaseTarget.MaskForDisplay(message);
}
