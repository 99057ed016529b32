using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Audit;
using Microsoft.Extensions.DependencyInjection;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// The group commit appends optimistically from the chain head it last committed (one conditional UPDATE of the
/// head) and falls back to the locked read when another writer of the node moved the head meanwhile: an account
/// created through the admin API (its account.created row sealed in UserAdministration's own transaction, whose
/// commit the chain does not see), a department created (a transaction the audit interceptor owns), and on
/// PostgreSQL a second server process appending to the same node's chain. Whatever the interleaving, every
/// acknowledged event is in the chain, the chain verifies, and the node's sequence has no gap and no fork
/// (as many rows as its head's sequence).
/// </summary>
public sealed class ChainHeadTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task GroupCommits_InterleavedWithInTransactionWrites_KeepOneGaplessVerifiedChain(string provider)
    {
        var fixture = await AuditFixture.StartAsync(provider);
        try
        {
            var department = await fixture.CreateDepartmentAsync();
            var clientId = RegistryFixture.Unique("m");
            var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
            using var http = fixture.Server.CreateHttpClient();
            var tokens = 0;

            async Task TokenAsync(string authority)
            {
                var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
                {
                    Address = authority + "/connect/token", ClientId = clientId, ClientSecret = secret,
                });
                Assert.False(response.IsError, response.Error);
                Interlocked.Increment(ref tokens);
            }

            // In turn: a group commit remembers the head; an account's row moves it in a transaction the chain does not
            // see committed; the next group commit finds the head moved, takes the locked path and chains after it.
            var created = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                await TokenAsync(fixture.Server.Authority);
                created.Add((await fixture.NewCitizenAsync()).Id);
                await TokenAsync(fixture.Server.Authority);
                await fixture.CreateDepartmentAsync();
            }

            var chain = fixture.Server.Services.GetRequiredService<AuditChain>();
            // Each group commit after an in-transaction write found the head moved; on PostgreSQL the others went in one
            // statement (AuditChain.TryAppendAsync), which the chain checks below must also hold for.
            Assert.True(chain.HeadMisses > 0, "no group commit took the locked path");
            if (provider == "Postgres")
            {
                Assert.True(chain.SingleStatementAppends > 0, "no group commit was appended in one statement");
            }

            // At the same time: group commits, accounts and departments (and on PostgreSQL a second process on the node).
            ServerProcess? other = null;
            var authorities = new List<string> { fixture.Server.Authority };
            if (provider == "Postgres")
            {
                var environment = AuditDatabase.ProcessEnvironment(fixture.Server.Database);
                var otherUrl = "http://127.0.0.1:" + TestPorts.Free();
                environment["ASPNETCORE_URLS"] = otherUrl;
                environment["Audit__NodeId"] = AuditFixture.NodeId;
                environment["Audit__CheckpointInterval"] = "00:00:00";
                other = ServerProcess.Start(environment);
                await other.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + otherUrl, StringComparison.Ordinal));
                authorities.Add(otherUrl);
            }

            try
            {
                var work = new List<Task>();
                for (var i = 0; i < 24; i++)
                {
                    work.Add(TokenAsync(authorities[i % authorities.Count]));
                    if (i % 6 == 0)
                    {
                        work.Add(Task.Run(async () =>
                        {
                            var citizen = await fixture.NewCitizenAsync();
                            lock (created)
                            {
                                created.Add(citizen.Id);
                            }
                        }));
                        work.Add(fixture.CreateDepartmentAsync());
                    }
                }

                await Task.WhenAll(work);
            }
            finally
            {
                if (other is not null)
                {
                    await other.DisposeAsync();
                }
            }

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            var node = report.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == AuditFixture.NodeId);
            Assert.Equal(node.GetProperty("lastSequence").GetInt64(), node.GetProperty("rows").GetInt64());
            Assert.Equal(0, node.GetProperty("archivedRanges").GetInt64());

            var issued = await fixture.EventsAsync("client=" + clientId + "&type=token.issued");
            Assert.Equal(tokens, issued.Count);
            Assert.All(issued, e => Assert.Equal(AuditFixture.NodeId, e.GetProperty("nodeId").GetString()));
            foreach (var id in created)
            {
                var account = await fixture.EventsAsync("type=account.created&userId=" + id);
                Assert.Equal(AuditFixture.NodeId, Assert.Single(account).GetProperty("nodeId").GetString());
            }
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
