using System.Runtime.InteropServices;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The calling thread's CPU time (Linux: clock_gettime(CLOCK_THREAD_CPUTIME_ID), a vDSO call of tens of nanoseconds), or
/// null elsewhere or when the call fails. Used to count the CPU time of password hashes (<see cref="PasswordHashGate"/>).
/// </summary>
internal static class ThreadCpuClock
{
    /// <summary>CLOCK_THREAD_CPUTIME_ID (time.h).</summary>
    private const int ThreadCpuTimeClock = 3;

    private static bool _unavailable = !OperatingSystem.IsLinux();

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
