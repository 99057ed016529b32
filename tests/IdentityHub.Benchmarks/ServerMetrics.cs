using System.Globalization;

namespace IdentityHub.Benchmarks;

/// <summary>
/// Reads one of the server's own counters from its Prometheus endpoint (Telemetry:PrometheusPath, "/metrics" by default):
/// the CPU seconds its threads spent in password hashes (identityhub.password_hashes.cpu_time), so that the signin
/// scenario can report the server's CPU per flow besides hashing, which the host's drifting hashing speed does not move.
/// </summary>
public static class ServerMetrics
{
    private const string HashCpuSeries = "identityhub_password_hashes_cpu_time_seconds_total";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The counter's value now (the sum of its series), or null when the server does not expose it.</summary>
    public static double? HashCpuSeconds(string baseUrl)
    {
        try
        {
            // Called from the measured window's start and end callbacks, which are synchronous; a scrape takes milliseconds.
            var text = Http.GetStringAsync(baseUrl.TrimEnd('/') + "/metrics").GetAwaiter().GetResult();
            double? sum = null;
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith(HashCpuSeries, StringComparison.Ordinal)
                    || line.Length > HashCpuSeries.Length && line[HashCpuSeries.Length] is not ('{' or ' '))
                {
                    continue;
                }

                var fields = line.TrimEnd().Split(' ');
                // "name{labels} value [timestamp]": the value follows the closing brace (labels may contain spaces).
                var afterLabels = line.LastIndexOf('}') is var brace and >= 0 ? line[(brace + 1)..].Trim().Split(' ') : fields[1..];
                if (afterLabels.Length > 0 && double.TryParse(afterLabels[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    sum = (sum ?? 0) + value;
                }
            }

            return sum;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
