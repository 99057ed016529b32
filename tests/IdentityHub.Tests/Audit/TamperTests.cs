using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Someone with database rights alters, deletes, inserts or reorders rows (and, the careful way, recomputes the
/// hashes and moves the head): the auditor API and the verify-audit command name what happened and where.
/// Each test has a server and database of its own: tampering breaks the chain for good.
/// </summary>
public sealed class TamperTests
{
    [Fact]
    public async Task Verify_UntouchedChain_ValidByApiAndCommand()
    {
        await WithServerAsync(async (fixture, db, _) =>
        {
            Assert.True((await fixture.VerifyAsync()).GetProperty("valid").GetBoolean());

            var (exitCode, output) = await db.RunCommandAsync("verify-audit");

            Assert.True(exitCode == 0, output);
            Assert.Contains("Audit chain verified", output, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Verify_StoredRecordAltered_NamesTheRecordByApiAndCommand()
    {
        await WithServerAsync(async (fixture, db, target) =>
        {
            await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"IpAddress\" = '6.6.6.6' WHERE \"Id\" = @id", ("@id", target.Id));

            var first = await FirstFindingAsync(fixture);
            var (exitCode, output) = await db.RunCommandAsync("verify-audit");

            Assert.Equal((AuditFindingKinds.Altered, target.Sequence, target.Id), (first.Kind, first.Sequence, first.RecordId));
            Assert.True(exitCode == 2, output);
            Assert.Contains($"Audit chain INVALID: 1 finding(s); first: altered at node {AuditFixture.NodeId} sequence {target.Sequence}", output,
                StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Verify_RecordDeleted_NamesTheGap()
    {
        await WithServerAsync(async (fixture, db, target) =>
        {
            await db.ExecuteAsync("DELETE FROM \"AuditEvents\" WHERE \"Id\" = @id", ("@id", target.Id));

            var first = await FirstFindingAsync(fixture);

            Assert.Equal((AuditFindingKinds.Deleted, target.Sequence + 1), (first.Kind, first.Sequence));
            Assert.Contains($"sequences {target.Sequence}..{target.Sequence}", first.Detail, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Verify_RecordInsertedWithLaterOnesRenumbered_NamesTheInsertedRecord()
    {
        await WithServerAsync(async (fixture, db, target) =>
        {
            // A forged sign-in that links to the target, the rows after it renumbered and the head moved on.
            var forged = (await db.RowsAsync()).Single(r => r.Id == target.Id);
            forged.Id = 0;
            forged.IpAddress = "6.6.6.6";
            forged.PreviousHash = forged.Hash;
            forged.Hash = AuditHash.Compute(forged);
            await ShiftAsync(db, after: target.Sequence, by: 1);
            await db.ExecuteAsync("UPDATE \"AuditChainHeads\" SET \"LastSequence\" = \"LastSequence\" + 1");
            forged.Sequence = target.Sequence + 1;
            await db.InsertAsync(forged);

            var findings = await FindingsAsync(fixture);

            Assert.Equal((AuditFindingKinds.Inserted, target.Sequence + 1), (findings[0].Kind, findings[0].Sequence));
            // The checkpoints signed before the insertion now sit one place later: renumbering shows too.
            Assert.All(findings.Skip(1), f => Assert.Equal(AuditFindingKinds.CheckpointInvalid, f.Kind));
        });
    }

    [Fact]
    public async Task Verify_TwoRecordsSwapped_NamesBothAsReordered()
    {
        await WithServerAsync(async (fixture, db, target) =>
        {
            var next = (await db.RowsAsync()).First(r => r.EventType == "token.issued" && r.Sequence > target.Sequence).Sequence!.Value;
            await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"Sequence\" = -1 WHERE \"NodeId\" = @n AND \"Sequence\" = @s", ("@n", AuditFixture.NodeId), ("@s", target.Sequence));
            await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"Sequence\" = @s WHERE \"NodeId\" = @n AND \"Sequence\" = @t", ("@n", AuditFixture.NodeId), ("@s", target.Sequence), ("@t", next));
            await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"Sequence\" = @t WHERE \"NodeId\" = @n AND \"Sequence\" = -1", ("@n", AuditFixture.NodeId), ("@t", next));

            var findings = await FindingsAsync(fixture);

            Assert.Equal(2, findings.Count);
            Assert.All(findings, f => Assert.Equal(AuditFindingKinds.Reordered, f.Kind));
            Assert.Equal([target.Sequence, next], findings.Select(f => f.Sequence!.Value).Order());
        });
    }

    [Fact]
    public async Task Verify_RecordAlteredAndWholeChainRehashed_SignedCheckpointNamesIt()
    {
        await WithServerAsync(async (fixture, db, target) =>
        {
            // The careful attacker: alter, then recompute every later hash and the head, so that every link holds.
            var rows = await db.RowsAsync();
            var previous = AuditHash.Genesis;
            foreach (var row in rows)
            {
                if (row.Id == target.Id)
                {
                    row.IpAddress = "6.6.6.6";
                }

                row.PreviousHash = previous;
                row.Hash = AuditHash.Compute(row);
                previous = row.Hash;
                await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"IpAddress\" = @ip, \"PreviousHash\" = @p, \"Hash\" = @h WHERE \"Id\" = @id",
                    ("@ip", row.IpAddress), ("@p", row.PreviousHash), ("@h", row.Hash), ("@id", row.Id));
            }

            await db.ExecuteAsync("UPDATE \"AuditChainHeads\" SET \"LastHash\" = @h", ("@h", previous));

            var findings = await FindingsAsync(fixture);

            Assert.NotEmpty(findings);
            Assert.All(findings, f => Assert.Equal(AuditFindingKinds.CheckpointInvalid, f.Kind));
            Assert.True(findings[0].Sequence > target.Sequence, "The first checkpoint after the altered row names it.");
        });
    }

    /// <summary>
    /// A fresh server (SQLite) with a department, a machine client and a few token requests; the callback gets the
    /// fixture, the database and one token.issued row in the middle of the chain.
    /// </summary>
    private static async Task WithServerAsync(Func<AuditFixture, AuditDatabase, (long Id, long Sequence), Task> test)
    {
        var fixture = await AuditFixture.StartAsync("Sqlite");
        try
        {
            var department = await fixture.CreateDepartmentAsync();
            var clientId = RegistryFixture.Unique("t");
            var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
            using var http = fixture.Server.CreateHttpClient();
            for (var i = 0; i < 4; i++)
            {
                using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
                }));
                response.EnsureSuccessStatusCode();
            }

            var db = new AuditDatabase(fixture.Server.Database);
            var issued = (await db.RowsAsync()).Where(r => r.EventType == "token.issued").ToList();
            await test(fixture, db, (issued[1].Id, issued[1].Sequence!.Value));
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    /// <summary>Moves every row after <paramref name="after"/> by <paramref name="by"/> (through a free range: the pair is unique).</summary>
    private static async Task ShiftAsync(AuditDatabase db, long after, long by)
    {
        await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"Sequence\" = \"Sequence\" + 1000000 WHERE \"Sequence\" > @s", ("@s", after));
        await db.ExecuteAsync("UPDATE \"AuditEvents\" SET \"Sequence\" = \"Sequence\" - 1000000 + @by WHERE \"Sequence\" > 1000000", ("@by", by));
    }

    private static async Task<List<AuditFinding>> FindingsAsync(AuditFixture fixture)
    {
        var report = await fixture.VerifyAsync();
        Assert.False(report.GetProperty("valid").GetBoolean(), report.GetRawText());
        return report.GetProperty("findings").Deserialize<List<AuditFinding>>(JsonSerializerOptions.Web)!;
    }

    private static async Task<AuditFinding> FirstFindingAsync(AuditFixture fixture) => (await FindingsAsync(fixture))[0];
}
