using Xunit;

namespace Dispatch.Tests.Storage;

/// <summary>Base of the storage suite: every test is a theory that runs once per backend.</summary>
public abstract class StoreTestBase
{
    public static TheoryData<string> Backends => new() { TestStore.Sqlite, TestStore.Postgres };
}
