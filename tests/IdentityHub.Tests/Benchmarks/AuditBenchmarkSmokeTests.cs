using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

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
        var root = RepositoryRoot();
        var configuration = typeof(AuditBenchmarkSmokeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var tool = Path.Combine(root, "tests", "IdentityHub.Benchmarks", "bin", configuration, "net10.0", "IdentityHub.Benchmarks.dll");
        Assert.True(File.Exists(tool), "The benchmark tool is not built: " + tool);
        var output = Directory.CreateTempSubdirectory("identityhub-bench-audit-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[]
                     {
                         tool, "--quick", "--db", "postgres", "--pg-connection", postgres!, "--scenarios", "audit-ingest,audit-queries",
                         "--audit-writers", "16", "--output", Path.Combine(output, "results.md"), "--json", Path.Combine(output, "results.json"),
                     })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("The benchmark did not finish within 8 minutes: " + await stderr);
            }

            var log = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, $"The benchmark exited with {process.ExitCode}:{Environment.NewLine}{log}");
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json")));
            var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(["audit-history", "audit-ingest", "audit-ingest-http", "audit-search", "audit-statistics"], results.Select(r => r.GetProperty("name").GetString()!).Order());
            foreach (var result in results)
            {
                var name = result.GetProperty("name").GetString();
                Assert.True(result.GetProperty("operations").GetInt64() > 0, $"{name}: no request served.{Environment.NewLine}{log}");
                Assert.True(result.GetProperty("errors").GetInt64() == 0, $"{name}: errors.{Environment.NewLine}{log}");
                Assert.Equal(JsonValueKind.Null, result.GetProperty("failure").ValueKind);
            }

            var markdown = await File.ReadAllTextAsync(Path.Combine(output, "results.md"));
            Assert.Contains("events seeded by binary COPY as one hash chain", markdown);
            Assert.Contains("GET /api/audit/verify over the seeded chain and the server's own: valid", markdown);

            // The writer measured in-process: real group commits of the command's own node, then the whole chain verifies.
            var writer = results.Single(r => r.GetProperty("name").GetString() == "audit-ingest");
            Assert.Equal("in-process", writer.GetProperty("generator").GetString());
            Assert.Matches(@"audit-ingest: the server's `audit-ingest-benchmark` command .* [1-9][\d,]* batches committed in the window, mean batch [\d.,]+ events; the rows are chained on node ingest-benchmark", markdown);
            Assert.Matches(@"audit-ingest: verify-audit after the ingest scenarios: Audit chain verified: [\d,]+ rows on 3 node\(s\)", markdown);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IdentityHub.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("IdentityHub.sln not found above " + AppContext.BaseDirectory);
    }
}
