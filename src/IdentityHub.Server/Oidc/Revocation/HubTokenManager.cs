using System.ComponentModel.DataAnnotations;
using System.Runtime.CompilerServices;
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
    AccessTokenRevocations revocations,
    IOptions<OidcOptions> oidc)
    : OpenIddictTokenManager<HubToken>(cache, logger, options, store)
{
    /// <summary>
    /// OpenIddict's validation of an entry, without its lookup of the entry's reference id when
    /// <see cref="OidcOptions.ReferenceIdUniqueByIndex"/> is on: the unique index on ReferenceId (both providers' schemas)
    /// refuses a duplicate at the insert (the entry is validated before CreateAsync inserts it, and the lookup would find
    /// only another entry, never this one). OpenIddict also calls ValidateAsync from UpdateAsync (status changes,
    /// redemption, revocation): the lookup is skipped there as well, which is as safe, since the same index refuses an
    /// update that would give the entry another entry's reference id. Every other check of OpenIddict's runs unchanged.
    /// The entity's reference id is null while OpenIddict's checks run (restored in the finally): this is only safe
    /// because OpenIddict's entity cache is disabled (<see cref="DisabledEntityCache{TEntity}"/>), so no cache
    /// holds this instance or keys it by its reference id meanwhile.
    /// </summary>
    public override async IAsyncEnumerable<ValidationResult> ValidateAsync(HubToken token,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var reference = oidc.Value.ReferenceIdUniqueByIndex ? token.ReferenceId : null;
        if (reference is not null)
        {
            token.ReferenceId = null;
        }

        try
        {
            await foreach (var result in base.ValidateAsync(token, cancellationToken))
            {
                yield return result;
            }
        }
        finally
        {
            if (reference is not null)
            {
                token.ReferenceId = reference;
            }
        }
    }

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
