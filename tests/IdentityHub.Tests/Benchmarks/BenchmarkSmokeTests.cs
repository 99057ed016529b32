using System.Text.Json;

namespace IdentityHub.Tests.Benchmarks;

/// <summary>
/// Runs the benchmark tool (tests/IdentityHub.Benchmarks) for about a second per scenario on SQLite, so
/// that it cannot rot unnoticed: it must finish, and every scenario must serve requests without an error.
/// No figure is asserted: the machine is shared.
/// </summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public async Task QuickRun_Sqlite_EveryScenarioServesRequestsWithoutErrors()
    {
        var (json, markdown, log) = await BenchmarkTool.RunAsync("--quick", "--db", "sqlite", "--concurrency", "4");
        using var _ = json;
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        string[] expected =
        [
            "discovery", "jwks", "client-credentials-rs256", "client-credentials-es256",
            "refresh", "refresh-id-token", "refresh-es256", "userinfo", "introspection", "signin",
        ];
        Assert.Equal(expected.Order(), results.Select(r => r.GetProperty("name").GetString()!).Order());
        foreach (var result in results)
        {
            var name = result.GetProperty("name").GetString();
            Assert.True(result.GetProperty("operations").GetInt64() > 0, $"{name}: no request served.{Environment.NewLine}{log}");
            Assert.True(result.GetProperty("errors").GetInt64() == 0, $"{name}: errors.{Environment.NewLine}{log}");
            Assert.Equal(JsonValueKind.Null, result.GetProperty("failure").ValueKind);
            // The server's own counters over the window: both scrapes answered and the runtime's meter is exported.
            var counters = result.GetProperty("counters");
            Assert.True(counters.ValueKind == JsonValueKind.Object && counters.GetProperty("jitMethods").ValueKind == JsonValueKind.Number
                && counters.GetProperty("gcCollections").ValueKind == JsonValueKind.Number, $"{name}: no runtime counters: {counters}{Environment.NewLine}{log}");
            if (name is "client-credentials-rs256" or "client-credentials-es256" or "signin")
            {
                // The ratio's limit: measured again before and after the scenario, and their mean used.
                var before = result.GetProperty("limitBefore").GetDouble();
                var after = result.GetProperty("limitAfter").GetDouble();
                Assert.True(before > 0 && after > 0, $"{name}: limit before {before}, after {after}");
                Assert.Equal((before + after) / 2, result.GetProperty("limit").GetDouble(), 6);
            }

            if (name == "signin" && OperatingSystem.IsLinux() && Environment.Is64BitProcess)
            {
                // The split of the server's CPU besides hashing: both scrapes of the server's Prometheus endpoint (its
                // path read from the server's configuration) answered, and the window's hashes were timed.
                Assert.True(result.GetProperty("hashes").ValueKind == JsonValueKind.Number && result.GetProperty("hashes").GetDouble() > 0
                    && result.GetProperty("hashCpuSeconds").GetDouble() > 0, $"signin: no hash CPU split.{Environment.NewLine}{log}");
            }
        }

        var allCores = json.RootElement.GetProperty("limits").GetProperty("allCoresAtOnce");
        foreach (var rate in new[] { "rs256", "es256", "passwordHashes" })
        {
            Assert.True(allCores.GetProperty(rate).GetDouble() > 0, $"all cores at once, {rate}: {allCores}");
        }

        Assert.Contains("| signin", markdown);
        Assert.Contains("Password hash verification", markdown);
    }
}
