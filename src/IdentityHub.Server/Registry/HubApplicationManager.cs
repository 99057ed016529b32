using System.Security.Cryptography;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Finds clients through this node's <see cref="ClientCache"/> and validates client secrets against its copy of the
/// ClientSecrets table: several may be active at once, each until it expires (checked against the clock at every
/// request) or is revoked (rotation). Secrets configured at start-up (bootstrap and demo clients) are still kept in
/// OpenIddict's own column, hashed by <see cref="SecretHasher"/>; secrets in OpenIddict's PBKDF2 format (none are
/// written by us) are verified by the base implementation.
/// <para>OpenIddict asks for the client by id up to ten times per token request (client type, secret, endpoint, grant
/// type and scope permissions, token lifetimes ...). Each request gets its own detached copy of the cached application,
/// the same one for every lookup of the request (as a database context would return one tracked instance), so a caller
/// that changes it changes nothing shared. Writers load the application tracked from their own context
/// (<see cref="ClientRegistry"/>), never through these lookups.</para>
/// </summary>
public sealed class HubApplicationManager(
    IOpenIddictApplicationCache<HubApplication> cache,
    ILogger<OpenIddictApplicationManager<HubApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<HubApplication> store,
    IdentityHubDbContext db,
    ClientCache clients,
    TimeProvider clock)
    : OpenIddictApplicationManager<HubApplication>(cache, logger, options, store)
{
    private readonly Dictionary<string, (ClientSnapshot Snapshot, HubApplication Copy)> _perRequest = new(StringComparer.Ordinal);

    public override async ValueTask<HubApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        return (await FindSnapshotAsync(identifier, cancellationToken))?.Copy;
    }

    public override async ValueTask<bool> ValidateClientSecretAsync(HubApplication application, string secret, CancellationToken cancellationToken = default)
    {
        if (application.ClientSecret != SecretHasher.TableMarker)
        {
            return await base.ValidateClientSecretAsync(application, secret, cancellationToken);
        }

        if (application.ClientType != OpenIddictConstants.ClientTypes.Confidential || application.ClientId is null)
        {
            return false;
        }

        // The secrets loaded with this very application (the cache's entry for it), else the database's current ones.
        var snapshot = await FindSnapshotAsync(application.ClientId, cancellationToken);
        IReadOnlyList<CachedSecret> secrets = snapshot is not null && snapshot.Value.Snapshot.Application.Id == application.Id
            ? snapshot.Value.Snapshot.Secrets
            : await db.ClientSecrets.AsNoTracking().Where(s => s.ApplicationId == application.Id && s.RevokedAtUtc == null)
                .Select(s => new CachedSecret(s.Hash, s.ExpiresAtUtc)).ToListAsync(cancellationToken);

        return CachedSecret.AnyMatches(secrets, secret, clock.GetUtcNow().UtcDateTime);
    }

    private async ValueTask<(ClientSnapshot Snapshot, HubApplication Copy)?> FindSnapshotAsync(string clientId, CancellationToken cancellationToken)
    {
        if (_perRequest.TryGetValue(clientId, out var known))
        {
            return known;
        }

        var snapshot = await clients.FindAsync(clientId, db, cancellationToken);
        if (snapshot is null)
        {
            return null;
        }

        var entry = (snapshot, snapshot.CopyApplication());
        _perRequest[clientId] = entry;
        return entry;
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
