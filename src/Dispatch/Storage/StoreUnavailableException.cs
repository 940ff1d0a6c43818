namespace Dispatch.Storage;

/// <summary>Raised when the database cannot be reached or opened; the message is safe to print.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Raised when the database schema is newer than this build understands.</summary>
public sealed class SchemaTooNewException(string message) : Exception(message);
