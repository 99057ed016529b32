using OpenIddict.Abstractions;
using OpenIddict.Core;
using Microsoft.Extensions.Options;
using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Oidc.Revocation;

/// <summary>
/// OpenIddict's token manager, which also revokes the access tokens of an authorization when OpenIddict revokes the
/// authorization's token entries (a redeemed refresh token presented again, RFC 9700 section 4.14.2): access tokens
/// have no entries (<see cref="Handlers.SkipAccessTokenEntries"/>), so the authorization's cutoff
/// (<see cref="AccessTokenRevocations"/>) stands for them.
/// </summary>
public sealed class HubTokenManager(
    IOpenIddictTokenCache<HubToken> cache,
    ILogger<OpenIddictTokenManager<HubToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictTokenStore<HubToken> store,
    AccessTokenRevocations revocations)
    : OpenIddictTokenManager<HubToken>(cache, logger, options, store)
{
    public override async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        // The access tokens first: they are the ones in use.
        await revocations.RevokeIssuedUntilNowAsync(RevocationKinds.Authorization, [identifier], cancellationToken);
        return await base.RevokeByAuthorizationIdAsync(identifier, cancellationToken);
    }

    /// <summary>
    /// A reference token's id as its entry stores it (OpenIddict's ObfuscateReferenceIdAsync: the SHA-256 of the id, so that
    /// ids read from the database are no tokens), for the lookups made outside the manager (Handlers/AuthorizationCodeFastPath).
    /// </summary>
    public ValueTask<string> HashReferenceIdAsync(string referenceId, CancellationToken cancellationToken = default) =>
        ObfuscateReferenceIdAsync(referenceId, cancellationToken);
}
