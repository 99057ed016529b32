using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Data;
using IdentityHub.Server.Factors.Sms;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors;

public enum SmsVerification
{
    Succeeded,
    Invalid,
    Expired,
    TooManyAttempts,
}

/// <summary>Sent, or refused with the time after which one more code may go to the number.</summary>
public sealed record SmsIssue(bool Sent, TimeSpan RetryAfter);

/// <summary>
/// Six-digit SMS codes. A number gets at most one code per <see cref="SmsOptions.ResendInterval"/> and
/// <see cref="SmsOptions.MaxCodesPerNumberPerHour"/> per hour; a code lives <see cref="SmsOptions.CodeLifetime"/>,
/// survives <see cref="SmsOptions.MaxAttemptsPerCode"/> wrong guesses, is used once, and is stored as a
/// salted SHA-256 only. A new code for the same number and purpose ends the previous one.
/// </summary>
public sealed class SmsCodes(
    IdentityHubDbContext db,
    ISmsSender sender,
    TimeProvider clock,
    IOptions<SmsOptions> options,
    IStringLocalizer<SharedResource> text)
{
    /// <summary>
    /// Issues a code. When <paramref name="deliver"/> is false (the number belongs to no account) the code
    /// is recorded but not sent, so that rate limits answer the same for every number.
    /// </summary>
    public async Task<SmsIssue> IssueAsync(string phoneNumber, SmsCodePurpose purpose, string? userId, bool deliver, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow().UtcDateTime;
        var hourAgo = now.AddHours(-1);
        var recent = await db.Set<SmsCode>()
            .Where(c => c.PhoneNumber == phoneNumber && c.CreatedAtUtc > hourAgo)
            .Select(c => c.CreatedAtUtc)
            .ToListAsync(cancellationToken);
        if (recent.Count > 0 && recent.Max() + settings.ResendInterval is var next && next > now)
        {
            return new SmsIssue(false, next - now);
        }

        if (recent.Count >= settings.MaxCodesPerNumberPerHour)
        {
            return new SmsIssue(false, recent.Min().AddHours(1) - now);
        }

        await db.Set<SmsCode>()
            .Where(c => c.PhoneNumber == phoneNumber && c.Purpose == purpose && c.ConsumedAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.ConsumedAtUtc, now), cancellationToken);
        // Codes older than a day count for no limit any more: the number's history is kept short.
        var dayAgo = now.AddDays(-1);
        await db.Set<SmsCode>().Where(c => c.PhoneNumber == phoneNumber && c.CreatedAtUtc < dayAgo)
            .ExecuteDeleteAsync(cancellationToken);

        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        var salt = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        db.Set<SmsCode>().Add(new SmsCode
        {
            PhoneNumber = phoneNumber,
            Purpose = purpose,
            UserId = userId,
            Salt = salt,
            CodeHash = Hash(salt, purpose, phoneNumber, code),
            CreatedAtUtc = now,
            ExpiresAtUtc = now + settings.CodeLifetime,
        });
        await db.SaveChangesAsync(cancellationToken);

        if (deliver)
        {
            var minutes = (int)Math.Ceiling(settings.CodeLifetime.TotalMinutes);
            await sender.SendAsync(new SmsMessage(phoneNumber, text["Sms_CodeText", code, minutes]), cancellationToken);
        }

        return new SmsIssue(true, TimeSpan.Zero);
    }

    /// <summary>Checks the newest live code for the number and purpose; a right code is consumed at once.</summary>
    public async Task<SmsVerification> VerifyAsync(string phoneNumber, SmsCodePurpose purpose, string? code, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var current = await db.Set<SmsCode>().AsNoTracking()
            .Where(c => c.PhoneNumber == phoneNumber && c.Purpose == purpose && c.ConsumedAtUtc == null)
            .OrderByDescending(c => c.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (current is null)
        {
            return SmsVerification.Invalid;
        }

        if (current.ExpiresAtUtc <= now)
        {
            return SmsVerification.Expired;
        }

        if (current.FailedAttempts >= options.Value.MaxAttemptsPerCode)
        {
            return SmsVerification.TooManyAttempts;
        }

        var candidate = (code ?? "").Trim();
        var expected = Convert.FromHexString(current.CodeHash);
        var actual = Convert.FromHexString(Hash(current.Salt, purpose, phoneNumber, candidate));
        if (candidate.Length != 6 || !CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            // Counted in the database, so parallel guesses cannot share one attempt.
            await db.Set<SmsCode>().Where(c => c.Id == current.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.FailedAttempts, c => c.FailedAttempts + 1), cancellationToken);
            return current.FailedAttempts + 1 >= options.Value.MaxAttemptsPerCode ? SmsVerification.TooManyAttempts : SmsVerification.Invalid;
        }

        // Only one request can consume the code.
        var consumed = await db.Set<SmsCode>()
            .Where(c => c.Id == current.Id && c.ConsumedAtUtc == null && c.FailedAttempts < options.Value.MaxAttemptsPerCode)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.ConsumedAtUtc, now), cancellationToken);
        return consumed == 1 ? SmsVerification.Succeeded : SmsVerification.Invalid;
    }

    private static string Hash(string salt, SmsCodePurpose purpose, string phoneNumber, string code) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{salt}|{purpose}|{phoneNumber}|{code}")));
}
