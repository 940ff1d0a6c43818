using System.Runtime.InteropServices;

namespace Dispatch.Daemons;

/// <summary>
/// Ends the process at once through libc's <c>_exit</c>: no shutdown handlers,
/// which a hung loop would block, and no signal, which the kernel drops when
/// the process is PID 1 of a container and sends it to itself.
/// </summary>
internal static partial class ImmediateExit
{
    /// <summary>EX_SOFTWARE from sysexits.h: an internal software error.</summary>
    public const int StuckLoopExitCode = 70;

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int status);

    public static void Now(int status) => Exit(status);
}
