using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors;

/// <summary>
/// Recovery codes: shown once, stored as SHA-256 hashes, each usable once. 16 characters of a
/// 30-letter alphabet without look-alikes carry 78 bits, so a fast hash is enough (no guessing attack
/// reaches that space), unlike a password.
/// </summary>
public sealed class RecoveryCodes(IdentityHubDbContext db, TimeProvider clock, IOptions<FactorOptions> options)
{
    private const string Alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>Replaces the account's recovery codes with new ones and returns them (the only time they are seen).</summary>
    public async Task<IReadOnlyList<string>> RegenerateAsync(string userId, CancellationToken cancellationToken)
    {
        await db.Set<RecoveryCode>().Where(c => c.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var codes = new List<string>();
        for (var i = 0; i < options.Value.RecoveryCodeCount; i++)
        {
            var raw = RandomNumberGenerator.GetString(Alphabet, 16);
            codes.Add(string.Join('-', raw.Chunk(4).Select(c => new string(c))));
            db.Set<RecoveryCode>().Add(new RecoveryCode { UserId = userId, CodeHash = Hash(userId, raw), CreatedAtUtc = now });
        }

        await db.SaveChangesAsync(cancellationToken);
        return codes;
    }

    /// <summary>Uses a code: true once, false ever after.</summary>
    public async Task<bool> RedeemAsync(string userId, string? code, CancellationToken cancellationToken)
    {
        var normalized = new string((code ?? "").ToUpperInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());
        if (normalized.Length != 16)
        {
            return false;
        }

        var hash = Hash(userId, normalized);
        var now = clock.GetUtcNow().UtcDateTime;
        return await db.Set<RecoveryCode>()
            .Where(c => c.UserId == userId && c.CodeHash == hash && c.UsedAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.UsedAtUtc, now), cancellationToken) == 1;
    }

    public Task<int> RemainingAsync(string userId, CancellationToken cancellationToken) =>
        db.Set<RecoveryCode>().CountAsync(c => c.UserId == userId && c.UsedAtUtc == null, cancellationToken);

    public async Task RemoveAllAsync(string userId, CancellationToken cancellationToken) =>
        await db.Set<RecoveryCode>().Where(c => c.UserId == userId).ExecuteDeleteAsync(cancellationToken);

    private static string Hash(string userId, string normalizedCode) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(userId + ":" + normalizedCode)));
}
