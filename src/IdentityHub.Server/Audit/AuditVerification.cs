using System.Data;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Audit;

public sealed record AuditNodeSummary(string NodeId, long Rows, long LastSequence, string LastHash, long Checkpoints, long ArchivedRanges);

/// <summary>The verification result: <see cref="Valid"/> when no finding is a failure; the first finding first.</summary>
public sealed record AuditVerificationReport(bool Valid, DateTime VerifiedAtUtc, IReadOnlyList<AuditNodeSummary> Nodes, long LegacyRows,
    IReadOnlyList<AuditFinding> Findings)
{
    public AuditFinding? First => Findings.FirstOrDefault(f => AuditFindingKinds.IsFailure(f.Kind));
}

/// <summary>
/// Recomputes every node's chain from the database (the verify-audit command and GET /api/audit/verify):
/// each row's hash, each link, each checkpoint signature, each node's head, and the archive gaps against the
/// digests their archive events recorded. Reads in one snapshot (repeatable read), in pages of sequence.
/// </summary>
public sealed class AuditVerification(
    IdentityHubDbContext db,
    AuditSigner signer,
    TimeProvider clock,
    IHostEnvironment environment,
    Microsoft.Extensions.Options.IOptions<DatabaseOptions> database,
    Microsoft.Extensions.Options.IOptions<AuditOptions> options)
{
    private const int Page = 2_000;

    public async Task<AuditVerificationReport> VerifyAsync(CancellationToken cancellationToken)
    {
        // PostgreSQL: one snapshot for the whole walk. SQLite: no long transaction (it would block writers); rows
        // appended meanwhile lie beyond the heads read first, and the heads are read again before judging them.
        await using var transaction = AuditChain.IsPostgres(db)
            ? await db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken)
            : null;
        var heads = await db.Set<AuditChainHead>().AsNoTracking().OrderBy(h => h.NodeId).ToListAsync(cancellationToken);
        var gaps = await db.Set<AuditArchiveGap>().AsNoTracking().ToListAsync(cancellationToken);
        var findings = new List<AuditFinding>(await CheckGapsAsync(gaps, cancellationToken));
        var nodes = new List<AuditNodeSummary>();
        var nodeIds = heads.Select(h => h.NodeId)
            .Union(await db.AuditEvents.Where(e => e.NodeId != null).Select(e => e.NodeId!).Distinct().ToListAsync(cancellationToken))
            .Order(StringComparer.Ordinal);
        foreach (var nodeId in nodeIds)
        {
            var head = heads.FirstOrDefault(h => h.NodeId == nodeId);
            var headSequence = head?.LastSequence ?? 0;
            var walker = new AuditChainWalker(nodeId, signer);
            var nodeGaps = gaps.Where(g => g.NodeId == nodeId).OrderBy(g => g.FirstSequence).ToList();
            await walker.WalkAsync(ItemsAsync(nodeId, headSequence, nodeGaps, cancellationToken));
            findings.AddRange(walker.Findings);
            var beyond = await db.AuditEvents.AsNoTracking().Where(e => e.NodeId == nodeId && e.Sequence > headSequence)
                .OrderBy(e => e.Sequence).Select(e => new { e.Id, e.Sequence }).ToListAsync(cancellationToken);
            // A row is committed with its head: the head read now covers every legitimate row read before.
            var currentHead = beyond.Count == 0 ? headSequence
                : await db.Set<AuditChainHead>().Where(h => h.NodeId == nodeId).Select(h => h.LastSequence).FirstOrDefaultAsync(cancellationToken);
            foreach (var extra in beyond.Where(e => e.Sequence > currentHead))
            {
                findings.Add(new AuditFinding(AuditFindingKinds.Inserted, nodeId, extra.Sequence, extra.Id,
                    $"beyond the node's head (sequence {currentHead}): not appended by the server"));
            }

            if (head is not null && (walker.EndHash != head.LastHash || walker.EndSequence != head.LastSequence))
            {
                findings.Add(new AuditFinding(AuditFindingKinds.Deleted, nodeId, head.LastSequence, null,
                    $"the chain ends at sequence {walker.EndSequence}, but the head records sequence {head.LastSequence}: its last rows are missing or altered"));
            }

            nodes.Add(new AuditNodeSummary(nodeId, walker.Rows, headSequence, head?.LastHash ?? walker.EndHash, walker.Checkpoints, nodeGaps.Count));
        }

        var legacy = await db.AuditEvents.CountAsync(e => e.Hash == null, cancellationToken);
        if (transaction is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
        }
        return new AuditVerificationReport(!findings.Any(f => AuditFindingKinds.IsFailure(f.Kind)), clock.GetUtcNow().UtcDateTime, nodes, legacy, findings);
    }

    /// <summary>Digest of an archive's gaps as its archive event records it (sha256 over "node|first|last|prev|hash|count" lines).</summary>
    public static string GapsDigest(IEnumerable<AuditArchiveGap> gaps) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n',
        gaps.OrderBy(g => g.NodeId, StringComparer.Ordinal).ThenBy(g => g.FirstSequence)
            .Select(g => $"{g.NodeId}|{g.FirstSequence}|{g.LastSequence}|{g.PreviousHash}|{g.LastHash}|{g.Count}")))));

    private async Task<IEnumerable<AuditFinding>> CheckGapsAsync(List<AuditArchiveGap> gaps, CancellationToken cancellationToken)
    {
        var archives = await db.AuditEvents.AsNoTracking().Where(e => e.EventType == "audit.archived").Select(e => new { e.Id, e.Data })
            .ToListAsync(cancellationToken);
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        var mismatches = new List<AuditFinding>();
        foreach (var archive in archives)
        {
            using var data = JsonDocument.Parse(archive.Data ?? "{}");
            if (data.RootElement.TryGetProperty("archiveId", out var id) && data.RootElement.TryGetProperty("gapsSha256", out var digest))
            {
                recorded[id.GetString() ?? ""] = digest.GetString() ?? "";
            }

            // The package itself, where this node keeps it (it may have moved to cold storage: then nothing to compare).
            if (id.ValueKind == JsonValueKind.String && data.RootElement.TryGetProperty("manifestSha256", out var manifestDigest)
                && Path.Combine(AuditRetention.ResolveArchiveRoot(environment, database.Value, options.Value), id.GetString()!, "manifest.json") is var manifest
                && File.Exists(manifest)
                && Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(manifest, cancellationToken))) != manifestDigest.GetString())
            {
                mismatches.Add(new AuditFinding(AuditFindingKinds.GapMismatch, "", null, archive.Id,
                    $"archive {id.GetString()}: manifest.json differs from the manifest its archive event recorded"));
            }
        }

        return mismatches.Concat(gaps.GroupBy(g => g.ArchiveId)
            .Where(group => !recorded.TryGetValue(group.Key, out var digest) || digest != GapsDigest(group))
            .Select(group => new AuditFinding(AuditFindingKinds.GapMismatch, group.First().NodeId, group.Min(g => g.FirstSequence), null,
                $"archive {group.Key}: its gaps do not match what its archive event recorded (rows removed outside retention?)")));
    }

    private async IAsyncEnumerable<ChainItem> ItemsAsync(string nodeId, long headSequence, List<AuditArchiveGap> gaps,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var gapIndex = 0;
        long after = 0;
        while (true)
        {
            var rows = await db.AuditEvents.AsNoTracking()
                .Where(e => e.NodeId == nodeId && e.Sequence > after && e.Sequence <= headSequence)
                .OrderBy(e => e.Sequence).Take(Page).ToListAsync(cancellationToken);
            foreach (var row in rows)
            {
                while (gapIndex < gaps.Count && gaps[gapIndex].FirstSequence < row.Sequence)
                {
                    yield return ChainItem.Gap(gaps[gapIndex++]);
                }

                yield return ChainItem.Row(row);
            }

            if (rows.Count < Page)
            {
                break;
            }

            after = rows[^1].Sequence!.Value;
        }

        while (gapIndex < gaps.Count)
        {
            yield return ChainItem.Gap(gaps[gapIndex++]);
        }
    }
}
