using System.Runtime.InteropServices;
using IdentityHub.Server.Operations;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Hosting;

/// <summary>Section "Hosting": how often the native heap's free pages are given back (docs/deployment.md, "Memory").</summary>
public sealed class NativeHeapOptions
{
    public const string Section = "Hosting";

    /// <summary>
    /// Interval of <c>malloc_trim(0)</c>: every 2 seconds by default; <c>00:00:00</c> turns it off; otherwise 1 second to
    /// 1 hour. On the idle machine the peaks under userinfo, refresh and sign-in were 10-28 MB lower in every pair, and the
    /// server CPU per request moved with the host's drift, not with the trimming (docs/benchmarks.md, "Peak RSS, seventh
    /// session").
    /// </summary>
    public TimeSpan NativeHeapTrimInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Gives glibc's free heap pages back to the kernel every few seconds (when Hosting:NativeHeapTrimInterval is set). Native allocations (OpenSSL's contexts for
/// every signature and password hash, the JIT's memory while it compiles) are freed, but glibc keeps the freed chunks
/// inside its arenas resident: only the top of an arena is ever returned on its own. On PostgreSQL, more than half of
/// the arenas' resident memory was such free pages (a <c>malloc_trim(0)</c> from a debugger at the introspection peak
/// of the benchmark: arenas 21 -> 9 MB, RSS 241 -> 228 MB; docs/benchmarks.md, "Peak RSS, seventh session").
/// <c>malloc_trim(0)</c> releases every free page of every arena (<c>madvise(MADV_DONTNEED)</c>, glibc 2.8 and later),
/// taking each arena's lock while it walks that arena's free chunks. Nothing happens outside Linux or on a C library
/// without <c>malloc_trim</c>.
/// </summary>
public sealed partial class NativeHeapTrimmer(IOptions<NativeHeapOptions> options, HubMetrics metrics, ILogger<NativeHeapTrimmer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.NativeHeapTrimInterval;
        if (interval <= TimeSpan.Zero || !OperatingSystem.IsLinux())
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                metrics.NativeHeapTrim(MallocTrim(0) != 0);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to trim.
            LogNotGlibc(logger);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Debug, Message = "The C library has no malloc_trim: the native heap is not trimmed.")]
    private static partial void LogNotGlibc(ILogger logger);

    [DllImport("libc", EntryPoint = "malloc_trim")]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole server, for one int call.
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}

public static class NativeHeapExtensions
{
    public static WebApplicationBuilder AddIdentityHubNativeHeapTrimming(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<NativeHeapOptions>().BindConfiguration(NativeHeapOptions.Section)
            .Validate(o => o.NativeHeapTrimInterval == TimeSpan.Zero
                    || (o.NativeHeapTrimInterval >= TimeSpan.FromSeconds(1) && o.NativeHeapTrimInterval <= TimeSpan.FromHours(1)),
                "Hosting:NativeHeapTrimInterval must be 00:00:00 (off) or between 00:00:01 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.AddHostedService<NativeHeapTrimmer>();
        return builder;
    }
}
