using IdentityHub.Server.Audit;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// PostgreSQL, a save in a transaction the audit interceptor begins (creating a department): its audit rows and the
/// chain head's move go with the COMMIT in one batch (Audit:AppendWithCommit), or as before in a round trip of their own
/// before the COMMIT. The head was moved by a transaction the chain does not see committed (an account created through
/// the admin API, sealed in UserAdministration's own transaction) before each department: the append from the head this
/// process last committed fails half-way through the batch, the transaction goes back to the savepoint before it (the
/// department's own row kept, nothing of the append), and the locked path appends after the real head. Either way each
/// department is created and recorded exactly once, nothing is lost on the way, and the chain verifies without a gap.
/// </summary>
public sealed class AppendWithCommitTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DepartmentsCreated_AfterTheHeadMovedUnseen_EachRecordedOnce_ChainGapless(bool appendWithCommit)
    {
        var fixture = await AuditFixture.StartAsync("Postgres", settings =>
        {
            settings["Audit:AppendWithCommit"] = appendWithCommit.ToString();
            // No checkpoint of the background's between the account and the department: its group commit would find the head
            // moved first and remember the real one.
            settings["Audit:CheckpointInterval"] = "01:00:00";
        });
        try
        {
            using var http = fixture.Server.CreateHttpClient();
            var (_, token) = await fixture.NewMachineClientAsync(http);
            var chain = fixture.Server.Services.GetRequiredService<AuditChain>();
            var departments = new List<string>();
            var missesBefore = chain.HeadMisses;
            for (var i = 0; i < 3; i++)
            {
                // The group commit of a token's event: the chain's remembered head is the committed one again.
                Assert.False((await token()).IsError);
                await fixture.NewCitizenAsync();
                var appends = chain.InTransactionAppends;
                departments.Add(await fixture.CreateDepartmentAsync());
                // The department's rows were appended in its transaction (after the account's row had moved the head).
                Assert.True(chain.InTransactionAppends > appends, "the department's rows were not appended in its transaction");
            }

            // The departments' transactions found the head moved by the accounts' rows (no other writer of this process
            // appended in between: the token's group commit came before each account).
            Assert.True(chain.HeadMisses > missesBefore, "no department's append found the head moved");

            // Then without a move in between: the optimistic append holds (in the COMMIT's batch when switched on).
            var appendsBefore = chain.InTransactionAppends;
            departments.Add(await fixture.CreateDepartmentAsync());
            Assert.True(chain.InTransactionAppends > appendsBefore);

            foreach (var department in departments)
            {
                var created = Assert.Single(await fixture.EventsAsync($"department={department}&type=registry.department.created"));
                Assert.Equal(AuditFixture.NodeId, created.GetProperty("nodeId").GetString());
            }

            // The departments are there (a client can be registered in each).
            Assert.NotNull(await fixture.RegisterAsync(Registry.RegistryFixture.MachineClient(Registry.RegistryFixture.Unique("m"), departments[^1])));

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            var node = report.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == AuditFixture.NodeId);
            Assert.Equal(node.GetProperty("lastSequence").GetInt64(), node.GetProperty("rows").GetInt64());
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
