using System.Globalization;

namespace IdentityHub.Benchmarks;

/// <summary>
/// One scrape of the server's Prometheus endpoint: each series' value summed over its labels; <see cref="Failed"/> when the
/// scrape itself failed (no answer, an error status, the endpoint disabled), whose figures then mean nothing.
/// </summary>
public sealed class MetricsScrape
{
    private readonly Dictionary<string, double> _sums;

    private MetricsScrape(Dictionary<string, double> sums, string? failed)
    {
        _sums = sums;
        Failed = failed;
    }

    public string? Failed { get; }

    public static MetricsScrape Failure(string why) => new([], why);

    /// <summary>The series' value summed over its label sets; null when the server does not expose it (yet).</summary>
    public double? Sum(string series) => _sums.TryGetValue(series, out var value) ? value : null;

    /// <summary>Parses the text exposition format (<c>name{labels} value [timestamp]</c>), keeping the series asked for.</summary>
    public static MetricsScrape Parse(string text, IReadOnlyCollection<string> series)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0 || !series.Contains(line[..nameEnd]))
            {
                continue;
            }

            // The value follows the closing brace of the labels (which may contain spaces), or the name.
            var rest = line[nameEnd] == '{' && line.LastIndexOf('}') is var brace and >= 0 ? line[(brace + 1)..] : line[nameEnd..];
            var fields = rest.Trim().Split(' ');
            if (fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                var name = line[..nameEnd];
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        return new MetricsScrape(sums, null);
    }
}

/// <summary>What the server spent in a window by its own counters: password hashes (signin), the JIT and the GC.</summary>
public readonly record struct ServerCounters(double? HashCpuSeconds, double? Hashes, double? JitSeconds, double? JitMethods,
    double? GcPauseSeconds, double? GcCollections, double? AllocatedBytes);

/// <summary>
/// Reads the server's own counters from its Prometheus endpoint (the server's Telemetry:PrometheusPath, which the tool reads
/// from the server's configuration: <see cref="BenchmarkRunner"/>): the CPU seconds its threads spent in password hashes and
/// their number (the identityhub.password_hashes.cpu_time histogram), so that the signin scenario can report the server's CPU
/// per flow besides hashing, which the host's drifting hashing speed does not move; and the runtime's JIT and GC counters
/// (the System.Runtime meter), so that a window still compiling or collecting more than usual shows.
/// </summary>
public static class ServerMetrics
{
    public const string HashCpuSum = "identityhub_password_hashes_cpu_time_seconds_sum";

    public const string HashCpuCount = "identityhub_password_hashes_cpu_time_seconds_count";

    public const string JitTime = "dotnet_jit_compilation_time_seconds_total";

    public const string JitMethods = "dotnet_jit_compiled_methods_total";

    public const string GcPause = "dotnet_gc_pause_time_seconds_total";

    public const string GcCollections = "dotnet_gc_collections_total";

    public const string Allocated = "dotnet_gc_heap_total_allocated_bytes_total";

    private static readonly string[] Series = [HashCpuSum, HashCpuCount, JitTime, JitMethods, GcPause, GcCollections, Allocated];

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Scrapes <paramref name="prometheusPath"/> (null or empty: the server exposes no endpoint) of the server.</summary>
    public static MetricsScrape Scrape(string baseUrl, string? prometheusPath)
    {
        if (string.IsNullOrEmpty(prometheusPath))
        {
            return MetricsScrape.Failure("the server's Prometheus endpoint is disabled (Telemetry:PrometheusPath empty)");
        }

        try
        {
            // Called from the measured window's start and end callbacks, which are synchronous; a scrape takes milliseconds.
            return MetricsScrape.Parse(Http.GetStringAsync(baseUrl.TrimEnd('/') + prometheusPath).GetAwaiter().GetResult(), Series);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return MetricsScrape.Failure($"scraping {prometheusPath} failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// The counters' growth from <paramref name="start"/> to <paramref name="end"/>. A series exposed at the end but not at the
    /// start counts from zero (OpenTelemetry shows a histogram from its first measurement); one missing at the end is null.
    /// </summary>
    public static ServerCounters Between(MetricsScrape start, MetricsScrape end)
    {
        double? Delta(string series) => end.Sum(series) is { } e ? e - (start.Sum(series) ?? 0) : null;
        return new ServerCounters(Delta(HashCpuSum), Delta(HashCpuCount), Delta(JitTime), Delta(JitMethods), Delta(GcPause), Delta(GcCollections), Delta(Allocated));
    }
}
