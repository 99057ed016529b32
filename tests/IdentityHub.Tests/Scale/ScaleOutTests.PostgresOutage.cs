using System.Net;
using System.Text.Json;
using IdentityHub.Tests.Sessions;

namespace IdentityHub.Tests.Scale;

/// <summary>PostgreSQL stops while both nodes serve: they answer 503 at once, and recover by themselves when it is back.</summary>
public sealed partial class ScaleOutTests
{
    [Fact]
    public async Task PostgresStopped_RequestsFailFastWith503_ThenTheNodesRecoverWithoutRestart()
    {
        var (machine, machineSecret) = await RegisterMachineClientAsync();
        Assert.False((await cluster.A.ClientCredentialsAsync(machine, machineSecret)).IsError);

        await cluster.Postgres.StopAsync();
        try
        {
            foreach (var node in new[] { cluster.A, cluster.B })
            {
                // Hang guard only, not a speed measure: the client's own timeout (ClusterNode.Client, 30 s, twice the
                // command timeout and far above any load seen) ends a request that never returns, which fails the test.
                using var http = node.Client();
                var mark = node.Process.OutputMark;
                using var response = await http.PostAsync("connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["grant_type"] = "client_credentials",
                    ["client_id"] = machine,
                    ["client_secret"] = machineSecret,
                }));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                // Failing fast, asserted by its cause rather than by a clock: the 503 comes from the unreachable database
                // itself (connection refused or reset), not from a command or connect timeout, which is what a node that
                // waited on the stopped database would report (there is no retry strategy to wait through).
                var logged = await node.Process.WaitForOutputLineAsync(line =>
                    line.Contains("Database unavailable (", StringComparison.Ordinal)
                    && line.Contains("POST /connect/token answered 503", StringComparison.Ordinal), mark);
                Assert.DoesNotContain("(" + nameof(TimeoutException) + ")", logged, StringComparison.Ordinal);
                Assert.True(response.Headers.RetryAfter is not null);
                var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("Database unavailable", problem.GetProperty("title").GetString());

                using var ready = await http.GetAsync("health/ready");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                using var live = await http.GetAsync("health/live");
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }
        }
        finally
        {
            await cluster.Postgres.StartAgainAsync();
        }

        foreach (var node in new[] { cluster.A, cluster.B })
        {
            await Poll.UntilAsync(async () => !(await node.ClientCredentialsAsync(machine, machineSecret)).IsError,
                node.Id + " to recover");
            using var http = node.Client();
            using var ready = await http.GetAsync("health/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.False(cluster.A.Process.HasExited || cluster.B.Process.HasExited);
    }
}
