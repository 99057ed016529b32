using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Factors.Sms;
using Microsoft.Extensions.Caching.Distributed;

namespace IdentityHub.Server.Identity.Registration;

public enum SmsChallengeResult
{
    Proved,
    WrongCode,
    ExpiredOrUnknown,
    TooManyAttempts,
}

/// <summary>
/// Proves possession of a mobile number with a six-digit SMS code: one code per number per
/// <see cref="ResendInterval"/>, valid <see cref="Lifetime"/>, at most <see cref="MaxAttempts"/> guesses,
/// used once, stored only as a keyed hash. State lives in IDistributedCache (in memory on one node, shared
/// when configured). The factors part has a database-backed equivalent for sign-in; they merge into one.
/// </summary>
public sealed class SmsChallenges(IDistributedCache cache, ISmsSender sms, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(60);
    public const int MaxAttempts = 5;

    private sealed record State(string Mobile, string Purpose, string Salt, string CodeHash, int Attempts, DateTimeOffset ExpiresAt);

    /// <summary>Sends a code; returns the challenge id, or null when a code went to this number less than a minute ago.</summary>
    public async Task<string?> IssueAsync(string mobile, string purpose, Func<string, string> message, CancellationToken cancellationToken)
    {
        var throttle = "ih:sms-sent:" + purpose + ":" + mobile;
        if (await cache.GetStringAsync(throttle, cancellationToken) is not null)
        {
            return null;
        }

        await cache.SetStringAsync(throttle, "1", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = ResendInterval }, cancellationToken);
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var salt = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await SaveAsync(id, new State(mobile, purpose, salt, Hash(salt, code), 0, clock.GetUtcNow() + Lifetime), cancellationToken);
        await sms.SendAsync(new SmsMessage(mobile, message(code)), cancellationToken);
        return id;
    }

    public async Task<SmsChallengeResult> VerifyAsync(string? challengeId, string mobile, string purpose, string? code, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(challengeId) || await cache.GetAsync(Key(challengeId), cancellationToken) is not { } bytes)
        {
            return SmsChallengeResult.ExpiredOrUnknown;
        }

        var state = JsonSerializer.Deserialize<State>(bytes)!;
        if (state.Mobile != mobile || state.Purpose != purpose || state.ExpiresAt <= clock.GetUtcNow())
        {
            return SmsChallengeResult.ExpiredOrUnknown;
        }

        if (state.Attempts >= MaxAttempts)
        {
            return SmsChallengeResult.TooManyAttempts;
        }

        var given = Hash(state.Salt, (code ?? "").Trim());
        if (!CryptographicOperations.FixedTimeEquals(Convert.FromHexString(given), Convert.FromHexString(state.CodeHash)))
        {
            await SaveAsync(challengeId, state with { Attempts = state.Attempts + 1 }, cancellationToken);
            return state.Attempts + 1 >= MaxAttempts ? SmsChallengeResult.TooManyAttempts : SmsChallengeResult.WrongCode;
        }

        // Used once.
        await cache.RemoveAsync(Key(challengeId), cancellationToken);
        return SmsChallengeResult.Proved;
    }

    private Task SaveAsync(string id, State state, CancellationToken cancellationToken) =>
        cache.SetAsync(Key(id), JsonSerializer.SerializeToUtf8Bytes(state),
            new DistributedCacheEntryOptions { AbsoluteExpiration = state.ExpiresAt }, cancellationToken);

    private static string Key(string id) => "ih:sms-challenge:" + id;

    private static string Hash(string salt, string code) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(salt + ":" + code)));
}
