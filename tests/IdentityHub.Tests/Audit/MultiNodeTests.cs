using System.Net;
using System.Net.Sockets;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Audit;

/// <summary>Two nodes on one PostgreSQL database append at the same time, each to its own chain; both verify.</summary>
public sealed class MultiNodeTests
{
    [Fact]
    public async Task TwoNodes_SigningInAtOnce_EachKeepsItsOwnVerifiedChain()
    {
        var fixture = await AuditFixture.StartAsync("Postgres");
        try
        {
            var environment = AuditDatabase.ProcessEnvironment(fixture.Server.Database);
            var otherUrl = "http://127.0.0.1:" + FreePort();
            environment["ASPNETCORE_URLS"] = otherUrl;
            environment["Audit__NodeId"] = "node-b";
            environment["Audit__CheckpointInterval"] = "00:00:00";
            await using var other = ServerProcess.Start(environment);
            await other.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + otherUrl, StringComparison.Ordinal));

            var here = Enumerable.Range(0, 6).Select(i => fixture.SignInAsync(new CookieContainer(), "nobody-a" + i, "Some-Passw0rd", ip: "10.1.1.1"));
            var there = Enumerable.Range(0, 6).Select(i => SignInElsewhereAsync(otherUrl, "nobody-b" + i));
            await Task.WhenAll(here.Concat(there));

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            var nodes = report.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()).ToList();
            Assert.Contains(AuditFixture.NodeId, nodes);
            Assert.Contains("node-b", nodes);
            var onB = await fixture.EventsAsync("ip=127.0.0.1&type=signin.failed");
            Assert.Equal(6, onB.Count(e => e.GetProperty("nodeId").GetString() == "node-b"));
            Assert.Equal(6, (await fixture.EventsAsync("ip=10.1.1.1&type=signin.failed")).Count(e => e.GetProperty("nodeId").GetString() == AuditFixture.NodeId));
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private static async Task SignInElsewhereAsync(string baseUrl, string userName)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };
        var html = await http.GetStringAsync("/Account/Login");
        using var response = await http.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = "Some-Passw0rd",
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
        }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static int FreePort() => TestPorts.Free();
}
