using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// A token request of a client that registered a signing algorithm the server has no key for now (<see cref="TokenSigning"/>):
/// refused with server_error before OpenIddict's RedeemTokenEntry (codes) and the refresh grant's redemption
/// (RefreshTokens/RedeemRefreshTokenEntry), so that a request that cannot be answered with tokens consumes nothing. Without
/// this, <see cref="ProtectServerOnlyTokens"/> refuses only when the token is generated: the code, or the presented refresh
/// token, is redeemed by then (for a missing ID token key the new refresh token's entry is written too), and the same
/// refresh token presented again once the key is back is reuse (RFC 9700 section 4.14.2), which revokes the whole grant.
/// The access token is always issued at the token endpoint; the ID token when openid is granted (as OpenIddict's
/// AttachDefaultScopes and EvaluateGeneratedTokens decide it, later in the pipeline), and for a refresh only when the client
/// asked for one (<see cref="RefreshIdTokens"/>).
/// </summary>
public sealed class RefuseUnsignableSignIn(IOptions<OidcOptions> oidc, ILogger<RefuseUnsignableSignIn> logger)
    : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseSingletonHandler<RefuseUnsignableSignIn>()
            .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token
            || await TokenSigning.OfClientAsync(context.Transaction, context.ClientId, context.CancellationToken) is not { } signing
            || signing == ClientSigning.Default)
        {
            return;
        }

        var algorithm = oidc.Value.SigningAlgorithm;
        var identity = context.Principal is { } principal
            && (principal.HasScope(Scopes.OpenId) || (!principal.HasClaim(Claims.Private.Scope) && context.Request.HasScope(Scopes.OpenId)))
            // A refresh returns an ID token only to a client that asked for one (RefreshIdTokens, OmitRefreshIdToken).
            && (context.Request?.IsRefreshTokenGrantType() != true
                || await OmitRefreshIdToken.WantsAsync(context.Transaction, context.ClientId, context.CancellationToken));
        var missing = TokenSigning.For(context.Options, algorithm, signing.AccessToken) is null ? signing.AccessToken
            : identity && TokenSigning.For(context.Options, algorithm, signing.IdToken) is null ? signing.IdToken
            : null;
        if (missing is not null)
        {
            // The operator's cue (the client only sees server_error): which client, which algorithm; nothing personal.
            logger.LogWarning("Token request of client {ClientId} refused: it registered {Algorithm} and no signing key of it is loaded",
                context.ClientId, missing);
            context.Reject(Errors.ServerError, ProtectServerOnlyTokens.NoKeyForRegisteredAlgorithm);
        }
    }
}
