using IdentityHub.Server.Audit;

namespace IdentityHub.Tests.Audit;

/// <summary>The chain walker on chains built in memory: each kind of tampering is named, with the row it concerns.</summary>
public sealed class ChainWalkerTests
{
    [Fact]
    public async Task Walk_IntactChain_FindsNothing()
    {
        var findings = await WalkAsync(Chain(10));

        Assert.Empty(findings);
    }

    [Fact]
    public async Task Walk_ContentAltered_NamesThatRow()
    {
        var rows = Chain(10);
        rows[4].IpAddress = "6.6.6.6";

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Altered, 5L, rows[4].Id), (finding.Kind, finding.Sequence, finding.RecordId));
    }

    [Fact]
    public async Task Walk_RowAlteredAndRehashed_NamesThatRow()
    {
        var rows = Chain(10);
        rows[4].IpAddress = "6.6.6.6";
        rows[4].Hash = AuditHash.Compute(rows[4]);

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Altered, 5L), (finding.Kind, finding.Sequence));
    }

    [Fact]
    public async Task Walk_RowDeleted_NamesTheMissingSequence()
    {
        var rows = Chain(10);
        rows.RemoveAt(4);

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Deleted, 6L), (finding.Kind, finding.Sequence));
        Assert.Contains("5..5", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Walk_FirstRowsDeleted_NamesThem()
    {
        var rows = Chain(10).Skip(3).ToList();

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Deleted, 4L), (finding.Kind, finding.Sequence));
    }

    [Fact]
    public async Task Walk_RowInsertedAndFollowingRenumbered_NamesTheInsertedRow()
    {
        var rows = Chain(10);
        var forged = Row(99, rows[4].Hash!);
        rows.Insert(5, forged);
        Renumber(rows);

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Inserted, 99L), (finding.Kind, finding.RecordId));
    }

    [Fact]
    public async Task Walk_ForeignRowInserted_NamesIt()
    {
        var rows = Chain(10);
        rows.Insert(5, Row(99, new string('a', 64)));
        Renumber(rows);

        var finding = Assert.Single(await WalkAsync(rows));

        Assert.Equal((AuditFindingKinds.Inserted, 99L), (finding.Kind, finding.RecordId));
    }

    [Fact]
    public async Task Walk_NeighboursSwapped_NamesBothAsReordered()
    {
        var rows = Chain(10);
        (rows[4], rows[5]) = (rows[5], rows[4]);
        Renumber(rows);

        var findings = await WalkAsync(rows);

        Assert.All(findings, f => Assert.Equal(AuditFindingKinds.Reordered, f.Kind));
        Assert.Equal([5L, 6L], findings.Select(f => f.RecordId!.Value).Order());
    }

    [Fact]
    public async Task Walk_DistantRowsSwapped_NamesBothAsReordered()
    {
        var rows = Chain(12);
        (rows[2], rows[8]) = (rows[8], rows[2]);
        Renumber(rows);

        var findings = await WalkAsync(rows);

        Assert.All(findings, f => Assert.Equal(AuditFindingKinds.Reordered, f.Kind));
        Assert.Equal([3L, 9L], findings.Select(f => f.RecordId!.Value).Order());
    }

    [Fact]
    public async Task Walk_ArchiveGap_BridgesTheRemovedRows()
    {
        var rows = Chain(10);
        var gap = new AuditArchiveGap
        {
            ArchiveId = "a", NodeId = "n", FirstSequence = 3, LastSequence = 6, PreviousHash = rows[2].PreviousHash!, LastHash = rows[5].Hash!, Count = 4,
        };
        var items = rows.Take(2).Select(ChainItem.Row).Append(ChainItem.Gap(gap)).Concat(rows.Skip(6).Select(ChainItem.Row));

        var findings = await WalkAsync(items);

        Assert.Empty(findings);
    }

    private static async Task<IReadOnlyList<AuditFinding>> WalkAsync(IEnumerable<AuditEvent> rows) => await WalkAsync(rows.Select(ChainItem.Row));

    private static async Task<IReadOnlyList<AuditFinding>> WalkAsync(IEnumerable<ChainItem> items)
    {
        var walker = new AuditChainWalker("n", signer: null);
        await walker.WalkAsync(items.ToAsyncEnumerable());
        return walker.Findings;
    }

    private static List<AuditEvent> Chain(int count)
    {
        var rows = new List<AuditEvent>();
        var previous = AuditHash.Genesis;
        for (var i = 1; i <= count; i++)
        {
            var row = Row(i, previous);
            row.Sequence = i;
            rows.Add(row);
            previous = row.Hash!;
        }

        return rows;
    }

    private static AuditEvent Row(long id, string previous)
    {
        var row = new AuditEvent
        {
            Id = id, NodeId = "n", OccurredAtUtc = new DateTime(2026, 11, 29, 8, 0, 0, DateTimeKind.Utc).AddSeconds(id), Category = "signin",
            EventType = "signin.failed", ActorKind = "user", ActorId = "u" + id, TargetType = "user", TargetId = "u" + id, IpAddress = "10.0.0." + id,
            PreviousHash = previous,
        };
        row.Hash = AuditHash.Compute(row);
        return row;
    }

    /// <summary>What an attacker does to hide a change in the order: sequences 1, 2, 3, ... again.</summary>
    private static void Renumber(List<AuditEvent> rows)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].Sequence = i + 1;
        }
    }
}
