using System.Runtime.InteropServices;

namespace Dispatch.Executors;

/// <summary>Signals a whole process group, so an executor's children die with it.</summary>
internal static partial class ProcessGroup
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to the group led by <paramref name="leaderPid"/>; false when the group is gone.</summary>
    public static bool Signal(int leaderPid, int signal) => Kill(-leaderPid, signal) == 0;
}
