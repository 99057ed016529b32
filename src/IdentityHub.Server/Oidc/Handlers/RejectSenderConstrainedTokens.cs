using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Refuses any token carrying a confirmation claim (<c>cnf</c>, RFC 7800 section 3.1) with invalid_token, before OpenIddict's
/// proof-of-possession check sees it. This server issues no sender-constrained tokens (neither DPoP-bound, RFC 9449
/// section 6, nor certificate-bound, RFC 8705 section 3), so a token with <c>cnf</c> was not minted by its normal issuance;
/// a resource server that cannot check the binding must not accept the token (RFC 9449 section 7.1, RFC 8705 section 3).
/// Without this, OpenIddict's <c>ValidateProofOfPossession</c> throws on a <c>jkt</c> binding and the request ends in a 500.
/// </summary>
public sealed class RejectSenderConstrainedTokens : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<RejectSenderConstrainedTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateProofOfPossession.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal?.FindFirst(Claims.Confirmation) is not null)
        {
            context.Reject(Errors.InvalidToken, "The specified token is sender-constrained (cnf), which this server does not issue.");
        }

        return default;
    }
}
