using System.Globalization;

namespace IdentityHub.Benchmarks;

/// <summary>
/// Reads one of the server's own counters from its Prometheus endpoint (Telemetry:PrometheusPath, "/metrics" by default):
/// the CPU seconds its threads spent in password hashes and their number (the identityhub.password_hashes.cpu_time histogram), so that the signin
/// scenario can report the server's CPU per flow besides hashing, which the host's drifting hashing speed does not move.
/// </summary>
public static class ServerMetrics
{
    private const string HashCpuSum = "identityhub_password_hashes_cpu_time_seconds_sum";

    private const string HashCpuCount = "identityhub_password_hashes_cpu_time_seconds_count";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The histogram's sum and count now (over its series), or null when the server does not expose it.</summary>
    public static (double Seconds, double Hashes)? HashCpu(string baseUrl)
    {
        try
        {
            // Called from the measured window's start and end callbacks, which are synchronous; a scrape takes milliseconds.
            var text = Http.GetStringAsync(baseUrl.TrimEnd('/') + "/metrics").GetAwaiter().GetResult();
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

            return sum is { } s && count is { } c ? (s, c) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
