using OpenIddict.Server;
using OpenIddict.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;
using ServerValidateToken = OpenIddict.Server.OpenIddictServerEvents.ValidateTokenContext;
using ValidationValidateToken = OpenIddict.Validation.OpenIddictValidationEvents.ValidateTokenContext;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Refuses any token carrying a confirmation claim (<c>cnf</c>, RFC 7800 section 3.1) before OpenIddict's
/// proof-of-possession check sees it, in the server's pipeline (userinfo, introspection, the token endpoint) and in the
/// validation stack that guards the admin API. This server issues no sender-constrained tokens (neither DPoP-bound, RFC
/// 9449 section 6, nor certificate-bound, RFC 8705 section 3; <c>UseClientCertificateBound*Tokens</c> is never set), so
/// a token with <c>cnf</c> was not minted by its normal issuance, and a resource server that cannot check the binding must
/// not accept it (RFC 9449 section 7.1). Without this, OpenIddict's <c>ValidateProofOfPossession</c> throws on a
/// <c>jkt</c> binding and the request ends in a 500. The error: invalid_client for a client assertion (RFC 7521 section
/// 4.2, as OpenIddict's own assertion checks), invalid_token otherwise (RFC 6750 section 3.1; introspection answers
/// active false, RFC 7662 section 2.2).
/// </summary>
public sealed class RejectSenderConstrainedTokens
    : IOpenIddictServerHandler<ServerValidateToken>, IOpenIddictValidationHandler<ValidationValidateToken>
{
    private const string Description = "The specified token is sender-constrained (cnf), which this server does not issue.";

    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ServerValidateToken>()
            .UseSingletonHandler<RejectSenderConstrainedTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateProofOfPossession.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>The same check in OpenIddict's validation stack (the admin API's bearer tokens).</summary>
    public static OpenIddictValidationHandlerDescriptor ValidationDescriptor { get; }
        = OpenIddictValidationHandlerDescriptor.CreateBuilder<ValidationValidateToken>()
            .UseSingletonHandler<RejectSenderConstrainedTokens>()
            .SetOrder(OpenIddictValidationHandlers.Protection.ValidateProofOfPossession.Descriptor.Order - 1)
            .SetType(OpenIddictValidationHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ServerValidateToken context)
    {
        if (context.Principal?.FindFirst(Claims.Confirmation) is not null)
        {
            context.Reject(
                context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion) ? Errors.InvalidClient : Errors.InvalidToken,
                Description);
        }

        return default;
    }

    public ValueTask HandleAsync(ValidationValidateToken context)
    {
        if (context.Principal?.FindFirst(Claims.Confirmation) is not null)
        {
            context.Reject(Errors.InvalidToken, Description);
        }

        return default;
    }
}
