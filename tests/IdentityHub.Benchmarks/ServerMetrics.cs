using System.Globalization;

namespace IdentityHub.Benchmarks;

/// <summary>
/// One scrape of the server's hash counter: the histogram's sum and count (over its series); zero when the server
/// exposes no such series yet (OpenTelemetry shows a histogram from its first measurement); <see cref="Failed"/> when
/// the scrape itself failed (no answer, an error status, the endpoint disabled), whose figures then mean nothing.
/// </summary>
public readonly record struct HashCpuScrape(double Seconds, double Hashes, bool Exposed, string? Failed)
{
    public static HashCpuScrape Failure(string why) => new(0, 0, false, why);
}

/// <summary>
/// Reads one of the server's own counters from its Prometheus endpoint (the server's Telemetry:PrometheusPath, which the
/// tool reads from the server's configuration: <see cref="BenchmarkRunner"/>): the CPU seconds its threads spent in
/// password hashes and their number (the identityhub.password_hashes.cpu_time histogram), so that the signin scenario
/// can report the server's CPU per flow besides hashing, which the host's drifting hashing speed does not move.
/// </summary>
public static class ServerMetrics
{
    private const string HashCpuSum = "identityhub_password_hashes_cpu_time_seconds_sum";

    private const string HashCpuCount = "identityhub_password_hashes_cpu_time_seconds_count";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Scrapes <paramref name="prometheusPath"/> (null or empty: the server exposes no endpoint) of the server.</summary>
    public static HashCpuScrape HashCpu(string baseUrl, string? prometheusPath)
    {
        if (string.IsNullOrEmpty(prometheusPath))
        {
            return HashCpuScrape.Failure("the server's Prometheus endpoint is disabled (Telemetry:PrometheusPath empty)");
        }

        string text;
        try
        {
            // Called from the measured window's start and end callbacks, which are synchronous; a scrape takes milliseconds.
            text = Http.GetStringAsync(baseUrl.TrimEnd('/') + prometheusPath).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return HashCpuScrape.Failure($"scraping {prometheusPath} failed: {e.GetType().Name}: {e.Message}");
        }

        double? sum = null, count = null;
        foreach (var line in text.Split('\n'))
        {
            var series = line.StartsWith(HashCpuSum, StringComparison.Ordinal) ? HashCpuSum
                : line.StartsWith(HashCpuCount, StringComparison.Ordinal) ? HashCpuCount : null;
            if (series is null || line.Length > series.Length && line[series.Length] is not ('{' or ' '))
            {
                continue;
            }

            var fields = line.TrimEnd().Split(' ');
            // "name{labels} value [timestamp]": the value follows the closing brace (labels may contain spaces).
            var afterLabels = line.LastIndexOf('}') is var brace and >= 0 ? line[(brace + 1)..].Trim().Split(' ') : fields[1..];
            if (afterLabels.Length > 0 && double.TryParse(afterLabels[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                if (series == HashCpuSum)
                {
                    sum = (sum ?? 0) + value;
                }
                else
                {
                    count = (count ?? 0) + value;
                }
            }
        }

        return sum is { } s && count is { } c ? new HashCpuScrape(s, c, true, null) : new HashCpuScrape(0, 0, false, null);
    }
}
