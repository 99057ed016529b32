using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Sign-ins whose form posts write the session, the known device and their audit rows in one transaction the audit
/// interceptor begins, at the same time as the group commits of the token and userinfo requests. On PostgreSQL those
/// transactions append their rows after the save's statements, with the head's move in one statement, taking turns with
/// the group commit (AuditChain.EnterOrderAsync): neither finds the head moved by the other. Whatever the provider:
/// every first sign-in's side effects (session with its app, pairwise subject, known device, the events) are there
/// exactly once, each with its session, and the node's chain verifies without a gap.
/// </summary>
public sealed class InTransactionAppendTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task ConcurrentFirstSignIns_WithGroupCommits_RowsCommitWithTheirSessions_NoHeadMissBetweenWriters(string provider)
    {
        var fixture = await AuditFixture.StartAsync(provider);
        try
        {
            var (_, clientId, secret) = await fixture.NewWebClientAsync();
            var citizens = new List<Citizen>();
            for (var i = 0; i < 7; i++)
            {
                citizens.Add(await fixture.NewCitizenAsync());
            }

            // The accounts were created in the admin API's own transactions (whose commits the chain does not see): one
            // sign-in first, so that the chain knows its committed head again.
            await new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server))
                .SignInAsync(clientId, secret, "openid profile", citizens[0].UserName, RegistryFixture.Password);

            var chain = fixture.Server.Services.GetRequiredService<AuditChain>();
            var (misses, timeouts, appends) = (chain.HeadMisses, chain.OrderTimeouts, chain.InTransactionAppends);
            var browsers = citizens.Skip(1).Select(_ => new BrowserlessSignIn(fixture.Server)).ToList();
            var results = await Task.WhenAll(citizens.Skip(1).Select((c, i) =>
                new OidcFlow(fixture.Server, browsers[i]).SignInAsync(clientId, secret, "openid profile", c.UserName, RegistryFixture.Password)));

            if (provider == "Postgres")
            {
                // Each form post's rows went in one statement in its transaction; no writer of this process made another miss
                // the head (a miss would need a turn not granted in time).
                Assert.True(chain.InTransactionAppends - appends >= results.Length,
                    $"{chain.InTransactionAppends - appends} in-transaction appends for {results.Length} sign-ins");
                Assert.True(chain.HeadMisses == misses || chain.OrderTimeouts > timeouts,
                    $"{chain.HeadMisses - misses} head misses without a turn that timed out");
            }
            else
            {
                Assert.Equal(appends, chain.InTransactionAppends);
            }

            using var admin = await fixture.PlatformClientAsync();
            for (var i = 0; i < results.Length; i++)
            {
                var citizen = citizens[i + 1];
                var sid = results[i].IdToken.GetClaim("sid").Value;
                // Pairwise (the web client's subject type): not the account id, and userinfo found the person by it.
                Assert.NotEqual(citizen.Id, results[i].IdToken.Subject);
                Assert.Equal(results[i].IdToken.Subject, results[i].UserInfo.GetProperty("sub").GetString());

                var events = await fixture.EventsAsync("userId=" + citizen.Id);
                var signIn = Assert.Single(events, e => Type(e) == "signin.succeeded");
                Assert.Equal(sid, signIn.GetProperty("sessionId").GetString());
                var started = Assert.Single(events, e => Type(e) == "session.started");
                Assert.Equal(sid, started.GetProperty("sessionId").GetString());
                // A first sign-in: no new-device event (the account had no other device).
                Assert.DoesNotContain(events, e => Type(e) == "account.new_device_sign_in");

                var sessions = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/users/{citizen.Id}/sessions");
                var session = Assert.Single(sessions.GetProperty("sessions").EnumerateArray());
                Assert.Equal(sid, session.GetProperty("id").GetString());
                // The app joined the session (its participant row): listed by its display name.
                Assert.EndsWith(clientId, Assert.Single(session.GetProperty("apps").EnumerateArray()).GetString());
            }

            // A second browser of the first of them: the same pairwise sub (its row is there: stored once), and now a new
            // device of an account that has signed in elsewhere before.
            var again = await new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server))
                .SignInAsync(clientId, secret, "openid profile", citizens[1].UserName, RegistryFixture.Password);
            Assert.Equal(results[0].IdToken.Subject, again.IdToken.Subject);
            var newDevice = Assert.Single(await fixture.EventsAsync("userId=" + citizens[1].Id + "&type=account.new_device_sign_in"));
            Assert.Equal(AuditFixture.NodeId, newDevice.GetProperty("nodeId").GetString());

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            var node = report.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == AuditFixture.NodeId);
            Assert.Equal(node.GetProperty("lastSequence").GetInt64(), node.GetProperty("rows").GetInt64());
            var issued = await fixture.EventsAsync("client=" + clientId + "&type=token.issued");
            Assert.Equal(results.Length + 2, issued.Count);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private static string? Type(JsonElement e) => e.GetProperty("eventType").GetString();
}
