using Xunit;

namespace Dispatch.Tests.Storage;

/// <summary>Base class of the storage suite, whose tests run once per backend.</summary>
public abstract class StoreTestBase
{
    public static TheoryData<string> Backends => new() { TestStore.Sqlite, TestStore.Postgres };
}
