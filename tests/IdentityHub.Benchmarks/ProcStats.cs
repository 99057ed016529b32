using System.Globalization;
using System.Runtime.InteropServices;

namespace IdentityHub.Benchmarks;

/// <summary>CPU time and memory of processes, read from Linux /proc.</summary>
public static partial class ProcStats
{
    private static readonly double TicksPerSecond = ClockTicks();

    /// <summary>utime + stime of a process (all its threads), or null when it is gone.</summary>
    public static TimeSpan? CpuTime(int pid)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return null;
        }

        // Fields after "(comm)": [0]=state (field 3), [11]=utime (field 14), [12]=stime (field 15).
        return Seconds(fields, 11, 12);
    }

    /// <summary>Two clock-tick fields of a stat line (after "(comm)") added up, as time.</summary>
    private static TimeSpan Seconds(string[] fields, int user, int system) =>
        TimeSpan.FromSeconds((long.Parse(fields[user], CultureInfo.InvariantCulture) + long.Parse(fields[system], CultureInfo.InvariantCulture)) / TicksPerSecond);

    /// <summary>
    /// CPU time of a process and all its descendants alive now (PostgreSQL's postmaster and backends), plus what its
    /// children that have exited spent (the root's cutime and cstime, fields 16 and 17, once it has reaped them): an
    /// autovacuum worker or a backend that ends between two readings is counted as PostgreSQL's, not as another process's.
    /// </summary>
    public static TimeSpan TreeCpuTime(int rootPid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && StatFields(pid) is { } f)
            {
                parents[pid] = int.Parse(f[1], CultureInfo.InvariantCulture);
            }
        }

        // [13]=cutime (field 16), [14]=cstime (field 17).
        var total = StatFields(rootPid) is { } root ? Seconds(root, 13, 14) : TimeSpan.Zero;
        foreach (var pid in parents.Keys)
        {
            var p = pid;
            for (var depth = 0; depth < 10 && p > 1; depth++)
            {
                if (p == rootPid)
                {
                    total += CpuTime(pid) ?? TimeSpan.Zero;
                    break;
                }

                if (!parents.TryGetValue(p, out p))
                {
                    break;
                }
            }
        }

        return total;
    }

    /// <summary>CPU time the whole machine spent busy (all cores; /proc/stat: everything but idle and iowait).</summary>
    public static TimeSpan MachineBusyTime()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal (guest time is already in user).
            var busy = fields.Take(8).Sum() - fields[3] - fields[4];
            return TimeSpan.FromSeconds(busy / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Peak resident set size (VmHWM) in bytes, or null.</summary>
    public static long? PeakRss(int pid) => StatusKb(pid, "VmHWM:");

    /// <summary>Current resident set size (VmRSS) in bytes, or null.</summary>
    public static long? Rss(int pid) => StatusKb(pid, "VmRSS:");

    /// <summary>Resets VmHWM to the current RSS (Linux 4.0+, needs the right to write /proc/pid/clear_refs).</summary>
    public static bool ResetPeakRss(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>CPU time of all terminated and waited-for children of this process (getrusage RUSAGE_CHILDREN).</summary>
    public static TimeSpan ChildrenCpuTime()
    {
        if (GetRUsage(-1, out var usage) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(usage.UserSeconds + usage.UserMicroseconds / 1e6 + usage.SystemSeconds + usage.SystemMicroseconds / 1e6);
    }

    public static bool Terminate(int pid) => Kill(pid, 15) == 0;

    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    public static string MemoryTotal()
    {
        var kb = StatusKbFrom("/proc/meminfo", "MemTotal:");
        return kb is null ? "unknown" : $"{kb.Value / (1024.0 * 1024):0.0} GiB";
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string[]? StatFields(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 2)..].Split(' ');
    }

    private static long? StatusKb(int pid, string key) => StatusKbFrom($"/proc/{pid}/status", key) * 1024;

    private static long? StatusKbFrom(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var digits = new string(line[key.Length..].Where(char.IsDigit).ToArray());
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static double ClockTicks()
    {
        try
        {
            var ticks = SysConf(2); // _SC_CLK_TCK
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxRss;
        public long Ixrss;
        public long Idrss;
        public long Isrss;
        public long MinFlt;
        public long MajFlt;
        public long NSwap;
        public long InBlock;
        public long OuBlock;
        public long MsgSnd;
        public long MsgRcv;
        public long NSignals;
        public long NVcsw;
        public long NIvcsw;
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRUsage(int who, out RUsage usage);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
