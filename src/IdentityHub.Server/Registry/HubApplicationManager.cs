using System.Security.Cryptography;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Validates client secrets against the ClientSecrets table: several may be active at once, each until
/// it expires or is revoked (rotation). Secrets configured at start-up (bootstrap and demo clients) are
/// still kept in OpenIddict's own column, hashed by <see cref="SecretHasher"/>; secrets in OpenIddict's
/// PBKDF2 format (none are written by us) are verified by the base implementation.
/// </summary>
public sealed class HubApplicationManager(
    IOpenIddictApplicationCache<HubApplication> cache,
    ILogger<OpenIddictApplicationManager<HubApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<HubApplication> store,
    IdentityHubDbContext db,
    TimeProvider clock)
    : OpenIddictApplicationManager<HubApplication>(cache, logger, options, store)
{
    public override async ValueTask<bool> ValidateClientSecretAsync(HubApplication application, string secret, CancellationToken cancellationToken = default)
    {
        if (application.ClientSecret != SecretHasher.TableMarker)
        {
            return await base.ValidateClientSecretAsync(application, secret, cancellationToken);
        }

        if (application.ClientType != OpenIddictConstants.ClientTypes.Confidential)
        {
            return false;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var hashes = await db.ClientSecrets.AsNoTracking()
            .Where(s => s.ApplicationId == application.Id && s.RevokedAtUtc == null && (s.ExpiresAtUtc == null || s.ExpiresAtUtc > now))
            .Select(s => s.Hash)
            .ToListAsync(cancellationToken);

        // Compare against every active secret (no early exit), so timing does not tell which one matched.
        var valid = false;
        foreach (var hash in hashes)
        {
            valid |= SecretHasher.Verify(secret, hash);
        }

        return valid;
    }

    protected override ValueTask<string> ObfuscateClientSecretAsync(string secret, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(SecretHasher.Hash(secret));

    protected override ValueTask<bool> ValidateClientSecretAsync(string secret, string comparand, CancellationToken cancellationToken = default) =>
        SecretHasher.IsOurs(comparand)
            ? ValueTask.FromResult(SecretHasher.Verify(secret, comparand))
            : base.ValidateClientSecretAsync(secret, comparand, cancellationToken);
}

public static class ClientSecrets
{
    /// <summary>32 random bytes, base64url: 256 bits of entropy.</summary>
    public static string Generate() => Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
