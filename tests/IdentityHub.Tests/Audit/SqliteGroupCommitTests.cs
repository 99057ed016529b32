using System.Text.RegularExpressions;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Audit;
using IdentityHub.Tests.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// On SQLite the group commit appends on a connection of its own with prepared statements
/// (<see cref="SqliteAuditAppender"/>) instead of through EF Core. Its rows must be the rows EF Core wrote (the same
/// text for the times the audit queries compare), and a batch that fails must leave nothing behind and not break the
/// batches after it: the request whose event was not committed gets no token, the next one does, the chain verifies
/// without a gap.
/// </summary>
public sealed partial class SqliteGroupCommitTests
{
    [Fact]
    public async Task FailedBatch_RolledBackWhole_NextBatchCommitsAndChainVerifies()
    {
        var fixture = await AuditFixture.StartAsync("Sqlite");
        try
        {
            using var http = fixture.Server.CreateHttpClient();
            var (clientId, tokenAsync) = await fixture.NewMachineClientAsync(http);

            var first = await tokenAsync();
            Assert.False(first.IsError, first.Error);
            var appender = fixture.Server.Services.GetRequiredService<SqliteAuditAppender>();
            Assert.True(appender.IsAvailable);
            var appended = appender.BatchesAppended;
            Assert.True(appended > 0, "the group commit did not go through the SQLite appender");

            // Someone with database rights makes this client's rows fail (after the head's move and any other row of the
            // batch): the batch's transaction must be rolled back whole.
            var db = new AuditDatabase(fixture.Server.Database);
            await db.ExecuteAsync(
                "CREATE TRIGGER \"FailAudit\" BEFORE INSERT ON \"AuditEvents\" WHEN NEW.\"ClientId\" = '" + clientId + "' " +
                "BEGIN SELECT RAISE(ABORT, 'audit row refused'); END");
            var refused = await tokenAsync();
            Assert.True(refused.IsError, "a token was issued although its audit event was not committed");
            Assert.Null(refused.AccessToken);

            await db.ExecuteAsync("DROP TRIGGER \"FailAudit\"");
            var again = await tokenAsync();
            Assert.False(again.IsError, again.Error);
            Assert.True(appender.BatchesAppended > appended, "no batch was appended after the failed one");

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            var node = report.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == AuditFixture.NodeId);
            Assert.Equal(node.GetProperty("lastSequence").GetInt64(), node.GetProperty("rows").GetInt64());

            // Exactly the two answered tokens are recorded, found by the client index as the auditor finds them.
            var issued = await fixture.EventsAsync("client=" + clientId + "&type=token.issued");
            Assert.Equal(2, issued.Count);

            // The appender's rows store their times as EF Core stores them (the rows of the registry's own saves): the text
            // the audit queries' ranges compare.
            var times = await db.QueryAsync("SELECT \"EventType\", \"OccurredAtUtc\", typeof(\"Sequence\") FROM \"AuditEvents\"",
                r => (Type: r.GetString(0), Time: r.GetString(1), SequenceType: r.GetString(2)));
            Assert.Contains(times, t => t.Type == "token.issued");
            Assert.Contains(times, t => t.Type.StartsWith("registry.", StringComparison.Ordinal));
            Assert.All(times, t =>
            {
                Assert.Matches(StoredTime(), t.Time);
                Assert.Equal("integer", t.SequenceType);
            });
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,7})?$")]
    private static partial Regex StoredTime();
}
