using System.Text.Json;
using System.Text.RegularExpressions;

namespace IdentityHub.Tests.Benchmarks;

/// <summary>
/// Runs the audit scenarios of the benchmark tool (audit-ingest, audit-queries: PostgreSQL only) for about a second
/// each on the test PostgreSQL, with a small seed, so that they keep working: every scenario serves requests without
/// an error and passes its checks (the server's audit-ingest-benchmark command writes real chained rows of its own node
/// and every acknowledged event is stored; every acknowledged HTTP ingest request has its event; the seeded chain and the
/// ingested rows verify with verify-audit; pages hold the right department and type). No figure is asserted: the
/// machine is shared.
/// </summary>
public sealed class AuditBenchmarkSmokeTests
{
    [Fact]
    public async Task QuickRun_PostgresAuditScenarios_ServeRequestsWithoutErrorsAndTheSeedVerifies()
    {
        var postgres = Environment.GetEnvironmentVariable("IDENTITYHUB_TEST_POSTGRES");
        Assert.False(string.IsNullOrEmpty(postgres), "IDENTITYHUB_TEST_POSTGRES is not set: run the tests with ./test.sh.");
        var (json, markdown, log) = await BenchmarkTool.RunAsync("--quick", "--db", "postgres", "--pg-connection", postgres!, "--scenarios", "audit-ingest,audit-queries", "--audit-writers", "16");
        using var _ = json;
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["audit-history", "audit-ingest", "audit-ingest-http", "audit-search", "audit-statistics"], results.Select(r => r.GetProperty("name").GetString()!).Order());
        foreach (var result in results)
        {
            var name = result.GetProperty("name").GetString();
            Assert.True(result.GetProperty("operations").GetInt64() > 0, $"{name}: no request served.{Environment.NewLine}{log}");
            Assert.True(result.GetProperty("errors").GetInt64() == 0, $"{name}: errors.{Environment.NewLine}{log}");
            Assert.Equal(JsonValueKind.Null, result.GetProperty("failure").ValueKind);
        }

        Assert.Contains("events seeded by binary COPY as one hash chain", markdown);
        Assert.Contains("GET /api/audit/verify over the seeded chain and the server's own: valid", markdown);

        // The writer measured in-process: real group commits of the command's own node, then the whole chain verifies.
        var writer = results.Single(r => r.GetProperty("name").GetString() == "audit-ingest");
        Assert.Equal("in-process", writer.GetProperty("generator").GetString());
        // On a mismatch, the report's audit-ingest notes and the tool's output in the message (the report's folder is deleted).
        var notes = string.Join(Environment.NewLine, markdown.Split('\n').Where(l => l.Contains("audit-ingest", StringComparison.Ordinal)));
        foreach (var pattern in new[]
                 {
                     @"audit-ingest: the server's `audit-ingest-benchmark` command .* [1-9][\d,]* batches committed in the window, mean batch [\d.,]+ events; the rows are chained on node ingest-benchmark",
                     @"audit-ingest: verify-audit after the ingest scenarios: Audit chain verified: [\d,]+ rows on 3 node\(s\)",
                 })
        {
            Assert.True(Regex.IsMatch(markdown, pattern), $"Not in the report: {pattern}{Environment.NewLine}{notes}{Environment.NewLine}{log}");
        }
    }
}
