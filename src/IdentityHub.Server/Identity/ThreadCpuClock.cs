using System.Runtime.InteropServices;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The calling thread's CPU time (Linux: clock_gettime(CLOCK_THREAD_CPUTIME_ID), a real system call, not served by the
/// vDSO as the wall clocks are, but well under a microsecond against a hash's ~100 ms), or null elsewhere (other systems,
/// 32-bit processes) or when the call fails. Used to count the CPU time of password hashes (<see cref="PasswordHashGate"/>).
/// </summary>
internal static class ThreadCpuClock
{
    /// <summary>CLOCK_THREAD_CPUTIME_ID (time.h).</summary>
    private const int ThreadCpuTimeClock = 3;

    /// <summary>Linux only, and 64-bit only: <see cref="TimeSpec"/> has the 64-bit layout of struct timespec.</summary>
    private static bool _unavailable = !OperatingSystem.IsLinux() || !Environment.Is64BitProcess;

    public static TimeSpan? Now()
    {
        if (_unavailable)
        {
            return null;
        }

        try
        {
            return ClockGetTime(ThreadCpuTimeClock, out var time) == 0
                ? TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100)
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return null;
        }
    }

    /// <summary>struct timespec of a 64-bit process (time_t and long both 64 bits).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole server (as NativeHeap's mallopt).
    private static extern int ClockGetTime(int clock, out TimeSpec time);
#pragma warning restore SYSLIB1054
}
