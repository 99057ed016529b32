using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Access tokens and ID tokens are self-contained JWTs: OpenIddict writes no token entry for them (it still does for
/// codes and refresh tokens, which are redeemed once and revoked), which saves a database write per token on every
/// grant and reads on every validation. Without a token id in the token, OpenIddict's RestoreTokenEntryProperties and
/// ValidateTokenEntry (filter RequireTokenIdResolved) skip them.
/// Access tokens (RFC 9068): their revocation is <see cref="Revocation.RevokedAccessTokens"/>, checked by
/// <see cref="RejectRevokedAccessTokens"/>.
/// ID tokens (OpenID Connect Core 1.0 section 2) are no credential: the client reads them once, and the server only
/// ever reads one back as the id_token_hint of RP-Initiated Logout 1.0 (section 2: a hint of who to sign out, which
/// an OP should accept even after the session ended, so session ends never revoked them, SessionService), validated by
/// its signature, issuer and audience. No part of IdentityHub reads ID-token rows (the clients a session reached are
/// its SessionParticipants). What no longer happens: revoking a client's tokens (IssuedGrants) or a refresh token's
/// reuse (RFC 9700 section 4.14.2) marking its earlier ID tokens revoked, which only made their hint refused.
/// Runs before OpenIddict's CreateTokenEntry.
/// </summary>
public sealed class SkipAccessTokenEntries : IOpenIddictServerHandler<GenerateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseSingletonHandler<SkipAccessTokenEntries>()
            .SetOrder(OpenIddictServerHandlers.Protection.CreateTokenEntry.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(GenerateTokenContext context)
    {
        // A reference access token is only its entry: it keeps one.
        if (context.TokenType is TokenTypeIdentifiers.AccessToken or TokenTypeIdentifiers.IdentityToken && !context.IsReferenceToken)
        {
            context.CreateTokenEntry = false;
            context.PersistTokenPayload = false;
        }

        return default;
    }
}
