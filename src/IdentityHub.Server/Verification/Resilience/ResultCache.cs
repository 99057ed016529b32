using System.Text.Json;
using IdentityHub.Server.Identity.PersonalData;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Verification.Resilience;

/// <summary>
/// Reuses authority answers: a match for <see cref="VerificationOptions.MatchCacheLifetime"/> (days), a
/// mismatch or not-found for <see cref="VerificationOptions.NegativeCacheLifetime"/> (minutes: it slows
/// guessing and saves money, yet a typo can be fixed), errors never. Keyed by a keyed hash of the inputs,
/// so the cache holds no ID number. IDistributedCache: in memory on one node, shared when configured.
/// </summary>
public sealed class ResultCache(IDistributedCache cache, PersonalDataProtector protector, IOptions<VerificationOptions> options)
{
    private sealed record Entry(VerificationOutcome Outcome, string Provider, VerificationKind Kind, string? TransactionId, string? RawCode,
        IReadOnlyList<string>? MismatchedFields, string? Detail);

    public async Task<VerificationResult?> GetAsync(string checkName, VerificationRequest request, CancellationToken cancellationToken)
    {
        var bytes = await cache.GetAsync(Key(checkName, request), cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        var entry = JsonSerializer.Deserialize<Entry>(bytes)!;
        return new VerificationResult(entry.Outcome, entry.Provider, entry.Kind, entry.TransactionId, entry.RawCode, Billable: false,
            entry.MismatchedFields, entry.Detail, FromCache: true);
    }

    public async Task SetAsync(string checkName, VerificationRequest request, VerificationResult result, CancellationToken cancellationToken)
    {
        TimeSpan? lifetime = result.Outcome switch
        {
            VerificationOutcome.Match => options.Value.MatchCacheLifetime,
            VerificationOutcome.Mismatch or VerificationOutcome.NotFound => options.Value.NegativeCacheLifetime,
            _ => null,
        };
        if (lifetime is not { } duration || duration <= TimeSpan.Zero)
        {
            return;
        }

        var entry = new Entry(result.Outcome, result.Provider, result.Kind, result.TransactionId, result.RawCode, result.MismatchedFields, result.Detail);
        await cache.SetAsync(Key(checkName, request), JsonSerializer.SerializeToUtf8Bytes(entry),
            new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = duration }, cancellationToken);
    }

    private string Key(string checkName, VerificationRequest request)
    {
        var inputs = request switch
        {
            PersonCheck p => string.Join('\n', p.Name, p.IdNumber, p.Mobile ?? ""),
            EnterpriseCheck e => string.Join('\n', e.CreditCode, e.Name, e.LegalRepresentative),
            _ => throw new ArgumentOutOfRangeException(nameof(request)),
        };
        return "ih:verification:" + protector.BlindIndex(inputs, "verification-cache|" + checkName);
    }
}

/// <summary>
/// At most <see cref="VerificationOptions.MaxAttemptsPerAccount"/> checks per account per
/// <see cref="VerificationOptions.AttemptWindow"/> (fixed window), counted before the cache: guessing an ID
/// number by trying names costs attempts whether or not a call goes out.
/// </summary>
public sealed class AttemptLimiter(IDistributedCache cache, TimeProvider clock, IOptions<VerificationOptions> options)
{
    public async Task<bool> TryAcquireAsync(string account, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var window = clock.GetUtcNow().ToUnixTimeSeconds() / (long)Math.Max(1, settings.AttemptWindow.TotalSeconds);
        var key = $"ih:verification-attempts:{account}:{window}";
        var current = await cache.GetStringAsync(key, cancellationToken);
        var count = current is null ? 0 : int.Parse(current, System.Globalization.CultureInfo.InvariantCulture);
        if (count >= settings.MaxAttemptsPerAccount)
        {
            return false;
        }

        await cache.SetStringAsync(key, (count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = settings.AttemptWindow }, cancellationToken);
        return true;
    }
}
