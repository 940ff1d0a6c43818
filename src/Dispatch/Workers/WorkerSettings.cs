using Dispatch.Configuration;
using Dispatch.Executors;

namespace Dispatch.Workers;

/// <summary>Everything one worker instance runs with.</summary>
public sealed record WorkerSettings(
    string Node,
    int Slots,
    ExecutorCatalog Executors,
    DispatchOptions Options)
{
    public TimeSpan LeaseTtl => TimeSpan.FromSeconds(Options.LeaseTtlSeconds);

    public TimeSpan HeartbeatInterval => LeaseTtl / 4;

    public TimeSpan PollInterval => TimeSpan.FromSeconds(Options.PollIntervalSeconds);

    public TimeSpan DrainWindow => TimeSpan.FromSeconds(Options.DrainSeconds);

    public TimeSpan KillGrace => TimeSpan.FromSeconds(Options.KillGraceSeconds);
}
