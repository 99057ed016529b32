using IdentityHub.Server.Oidc.Revocation;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Refuses a revoked access token wherever OpenIddict validates one (userinfo: 401 invalid_token, RFC 6750 section 3.1;
/// introspection: active false, RFC 7662 section 2.2; revocation: nothing more to do, RFC 7009 section 2.2): revoked by
/// its jti, or issued before its authorization, session or client had its tokens revoked
/// (<see cref="RevokedAccessTokens"/>, in memory). Runs after the signature and expiry checks.
/// </summary>
public sealed class RejectRevokedAccessTokens(RevokedAccessTokens revoked) : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<RejectRevokedAccessTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateExpirationDate.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is { } principal && principal.HasTokenType(TokenTypeIdentifiers.AccessToken)
            && revoked.Refusal(principal) is { } reason)
        {
            context.Reject(Errors.InvalidToken, reason);
        }

        return default;
    }
}
