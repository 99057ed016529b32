using IdentityHub.Server.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using OtpNet;

namespace IdentityHub.Server.Factors;

public enum TotpVerification
{
    Valid,
    Invalid,

    /// <summary>A right code of a time step already used: refused (RFC 6238 section 5.2).</summary>
    Reused,
}

/// <summary>
/// Authenticator apps (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps). The secret is kept protected by
/// Data Protection; a code of the previous or next step is accepted for clock drift (one step, RFC 6238
/// section 6), and each step is accepted once.
/// </summary>
public sealed class TotpService(IdentityHubDbContext db, IDataProtectionProvider protection, TimeProvider clock)
{
    public const string ProtectorPurpose = "IdentityHub.Factors.Totp.v1";

    private readonly IDataProtector _protector = protection.CreateProtector(ProtectorPurpose);

    public Task<TotpAuthenticator?> FindAsync(string userId, CancellationToken cancellationToken) =>
        db.Set<TotpAuthenticator>().AsNoTracking().FirstOrDefaultAsync(t => t.UserId == userId, cancellationToken);

    public async Task<bool> IsEnabledAsync(string userId, CancellationToken cancellationToken) =>
        await db.Set<TotpAuthenticator>().AnyAsync(t => t.UserId == userId && t.ConfirmedAtUtc != null, cancellationToken);

    /// <summary>The base32 secret of an unconfirmed enrolment, made now if there is none. Null when already enabled.</summary>
    public async Task<string?> PendingSecretAsync(string userId, CancellationToken cancellationToken)
    {
        var existing = await db.Set<TotpAuthenticator>().FirstOrDefaultAsync(t => t.UserId == userId, cancellationToken);
        if (existing is { ConfirmedAtUtc: not null })
        {
            return null;
        }

        if (existing is not null)
        {
            return _protector.Unprotect(existing.ProtectedSecret);
        }

        // 160 bits, the HMAC-SHA1 block RFC 4226 section 4 recommends.
        var secret = Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20));
        db.Set<TotpAuthenticator>().Add(new TotpAuthenticator
        {
            UserId = userId,
            ProtectedSecret = _protector.Protect(secret),
            CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
        });
        await db.SaveChangesAsync(cancellationToken);
        return secret;
    }

    /// <summary>Confirms an enrolment with its first code.</summary>
    public async Task<bool> ConfirmAsync(string userId, string? code, CancellationToken cancellationToken)
    {
        var pending = await db.Set<TotpAuthenticator>().AsNoTracking()
            .FirstOrDefaultAsync(t => t.UserId == userId && t.ConfirmedAtUtc == null, cancellationToken);
        if (pending is null || Match(pending, code) is not { } step)
        {
            return false;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        return await db.Set<TotpAuthenticator>()
            .Where(t => t.UserId == userId && t.ConfirmedAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ConfirmedAtUtc, now).SetProperty(t => t.LastUsedTimeStep, step), cancellationToken) == 1;
    }

    public async Task<TotpVerification> VerifyAsync(string userId, string? code, CancellationToken cancellationToken)
    {
        var authenticator = await db.Set<TotpAuthenticator>().AsNoTracking()
            .FirstOrDefaultAsync(t => t.UserId == userId && t.ConfirmedAtUtc != null, cancellationToken);
        if (authenticator is null || Match(authenticator, code) is not { } step)
        {
            return TotpVerification.Invalid;
        }

        // Compare-and-set in the database: of two requests with the same code, one wins.
        var accepted = await db.Set<TotpAuthenticator>()
            .Where(t => t.UserId == userId && t.LastUsedTimeStep < step)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedTimeStep, step), cancellationToken);
        return accepted == 1 ? TotpVerification.Valid : TotpVerification.Reused;
    }

    public async Task DisableAsync(string userId, CancellationToken cancellationToken) =>
        await db.Set<TotpAuthenticator>().Where(t => t.UserId == userId).ExecuteDeleteAsync(cancellationToken);

    /// <summary>The matched time step, or null.</summary>
    private long? Match(TotpAuthenticator authenticator, string? code)
    {
        var digits = (code ?? "").Replace(" ", "", StringComparison.Ordinal).Trim();
        if (digits.Length != 6 || !digits.All(char.IsAsciiDigit))
        {
            return null;
        }

        var totp = new Totp(Base32Encoding.ToBytes(_protector.Unprotect(authenticator.ProtectedSecret)));
        return totp.VerifyTotp(clock.GetUtcNow().UtcDateTime, digits, out var step, new VerificationWindow(previous: 1, future: 1))
            ? step
            : null;
    }
}
