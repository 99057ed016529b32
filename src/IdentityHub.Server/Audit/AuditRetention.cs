using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

public sealed record RetentionResult(string ArchiveId, string Directory, int Count, IReadOnlyDictionary<string, int> ByCategory);

/// <summary>
/// Removes events past their class's retention, the only way rows ever leave AuditEvents. First an archive
/// package is written and flushed to disk: events.jsonl (every column, one row per line), manifest.json (counts,
/// time range, the SHA-256 of events.jsonl, the chain gaps the removal leaves with their anchor hashes) and
/// manifest.sig.json (the manifest signed with the server's signing key, and that key's certificate). Then, in
/// one transaction: the rows are deleted, the gaps stored, and an audit.archived event (recording the manifest's
/// and the gaps' digests) is chained. Verification bridges each gap with its anchors, and checks the gaps
/// against that event, so the chain still verifies and a deletion outside retention still shows.
/// </summary>
public sealed class AuditRetention(
    IdentityHubDbContext db,
    IAuditLog audit,
    AuditSigner signer,
    IOptions<AuditOptions> options,
    IOptions<DatabaseOptions> database,
    IHostEnvironment environment,
    TimeProvider clock)
{
    public const string ArchiveFormat = "identityhub-audit-archive-v1";

    public string ArchiveRoot => ResolveArchiveRoot(environment, database.Value, options.Value);

    public static string ResolveArchiveRoot(IHostEnvironment environment, DatabaseOptions database, AuditOptions options) =>
        Path.GetFullPath(Path.Combine(DataExtensions.ResolveDataDirectory(environment, database), options.ArchiveDirectory));

    /// <summary>Archives and removes one batch; null when nothing is past retention.</summary>
    public async Task<RetentionResult?> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var rows = new List<AuditEvent>();
        var categories = await db.AuditEvents.Select(e => e.Category).Distinct().ToListAsync(cancellationToken);
        foreach (var category in categories.Order(StringComparer.Ordinal))
        {
            var cutoff = DateTime.SpecifyKind(now - options.Value.RetentionOf(category), DateTimeKind.Utc);
            var left = options.Value.RetentionBatchSize - rows.Count;
            if (left <= 0)
            {
                break;
            }

            rows.AddRange(await db.AuditEvents.AsNoTracking()
                .Where(e => e.Category == category && e.OccurredAtUtc < cutoff && e.Hash != null)
                .OrderBy(e => e.OccurredAtUtc).Take(left).ToListAsync(cancellationToken));
        }

        if (rows.Count == 0)
        {
            return null;
        }

        rows = rows.OrderBy(r => r.NodeId, StringComparer.Ordinal).ThenBy(r => r.Sequence).ToList();
        var gaps = Gaps(rows);
        var archiveId = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        foreach (var gap in gaps)
        {
            gap.ArchiveId = archiveId;
        }

        var directory = Path.Combine(ArchiveRoot, archiveId);
        var byCategory = rows.GroupBy(r => r.Category).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var gapsDigest = AuditVerification.GapsDigest(gaps);
        var manifestDigest = await WritePackageAsync(directory, archiveId, rows, gaps, gapsDigest, byCategory, now, cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var deleted = 0;
            foreach (var chunk in rows.Select(r => r.Id).Chunk(500))
            {
                deleted += await db.AuditEvents.Where(e => chunk.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
            }

            if (deleted != rows.Count)
            {
                // Another node archived some of them first: leave it to the next run.
                await transaction.RollbackAsync(cancellationToken);
                Directory.Delete(directory, recursive: true);
                return null;
            }

            db.AddRange(gaps);
            audit.Add(AuditActor.System("retention"), new AuditArchived(archiveId, new
            {
                archiveId,
                count = rows.Count,
                byCategory,
                from = AuditHash.FormatTime(rows.Min(r => r.OccurredAtUtc)),
                to = AuditHash.FormatTime(rows.Max(r => r.OccurredAtUtc)),
                manifestSha256 = manifestDigest,
                gapsSha256 = gapsDigest,
                gaps = gaps.Count,
            }));
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }

        return new RetentionResult(archiveId, directory, rows.Count, byCategory);
    }

    /// <summary>Consecutive removed rows of one node become one gap: previous hash of the first, hash of the last.</summary>
    private static List<AuditArchiveGap> Gaps(List<AuditEvent> rows)
    {
        var gaps = new List<AuditArchiveGap>();
        foreach (var row in rows)
        {
            if (gaps.Count > 0 && gaps[^1] is var last && last.NodeId == row.NodeId && last.LastSequence + 1 == row.Sequence)
            {
                last.LastSequence = row.Sequence!.Value;
                last.LastHash = row.Hash!;
                last.Count++;
                continue;
            }

            gaps.Add(new AuditArchiveGap
            {
                ArchiveId = "", NodeId = row.NodeId!, FirstSequence = row.Sequence!.Value, LastSequence = row.Sequence!.Value,
                PreviousHash = row.PreviousHash!, LastHash = row.Hash!, Count = 1,
            });
        }

        return gaps;
    }

    private async Task<string> WritePackageAsync(string directory, string archiveId, List<AuditEvent> rows, List<AuditArchiveGap> gaps,
        string gapsDigest, Dictionary<string, int> byCategory, DateTime now, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        string eventsDigest;
        await using (var file = new FileStream(Path.Combine(directory, "events.jsonl"), FileMode.CreateNew, FileAccess.Write))
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var row in rows)
            {
                row.OccurredAtUtc = DateTime.SpecifyKind(row.OccurredAtUtc, DateTimeKind.Utc);
                var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(row, AuditLog.Json) + "\n");
                sha.AppendData(line);
                await file.WriteAsync(line, cancellationToken);
            }

            eventsDigest = Convert.ToHexStringLower(sha.GetHashAndReset());
            file.Flush(flushToDisk: true);
        }

        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            format = ArchiveFormat,
            archiveId,
            createdAtUtc = AuditHash.FormatTime(now),
            count = rows.Count,
            byCategory,
            byNode = rows.GroupBy(r => r.NodeId!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            from = AuditHash.FormatTime(rows.Min(r => r.OccurredAtUtc)),
            to = AuditHash.FormatTime(rows.Max(r => r.OccurredAtUtc)),
            retentionDays = byCategory.Keys.ToDictionary(c => c, c => options.Value.RetentionOf(c).TotalDays, StringComparer.Ordinal),
            events = new { file = "events.jsonl", sha256 = eventsDigest },
            hashChain = new { algorithm = "SHA-256", canonicalForm = AuditHash.Version, anchors = gaps, gapsSha256 = gapsDigest },
        }, new JsonSerializerOptions(AuditLog.Json) { WriteIndented = true });
        var signature = signer.Sign(manifest);
        var signatureJson = JsonSerializer.SerializeToUtf8Bytes(new
        {
            signature.KeyId,
            signature.Algorithm,
            signature = signature.Value,
            certificate = signer.PublicCertificate(signature.KeyId),
        }, new JsonSerializerOptions(AuditLog.Json) { WriteIndented = true });
        await WriteDurablyAsync(Path.Combine(directory, "manifest.json"), manifest, cancellationToken);
        await WriteDurablyAsync(Path.Combine(directory, "manifest.sig.json"), signatureJson, cancellationToken);
        return Convert.ToHexStringLower(SHA256.HashData(manifest));
    }

    private static async Task WriteDurablyAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        await file.WriteAsync(content, cancellationToken);
        file.Flush(flushToDisk: true);
    }
}
