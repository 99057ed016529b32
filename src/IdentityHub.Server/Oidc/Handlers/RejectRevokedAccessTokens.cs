using IdentityHub.Server.Oidc.Revocation;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;
using ServerValidateToken = OpenIddict.Server.OpenIddictServerEvents.ValidateTokenContext;
using ValidationValidateToken = OpenIddict.Validation.OpenIddictValidationEvents.ValidateTokenContext;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Refuses a revoked access token wherever OpenIddict validates one (userinfo: 401 invalid_token, RFC 6750 section 3.1;
/// introspection: active false, RFC 7662 section 2.2; revocation: nothing more to do, RFC 7009 section 2.2; the admin
/// API, through OpenIddict's validation stack: 401): revoked by its jti, or issued before its authorization, session or
/// client had its tokens revoked (<see cref="RevokedAccessTokens"/>, in memory). Runs after the signature and expiry
/// checks.
/// </summary>
public sealed class RejectRevokedAccessTokens(RevokedAccessTokens revoked)
    : IOpenIddictServerHandler<ServerValidateToken>, IOpenIddictValidationHandler<ValidationValidateToken>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ServerValidateToken>()
            .UseSingletonHandler<RejectRevokedAccessTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateExpirationDate.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// The same check in OpenIddict's validation stack, which validates the admin API's bearer tokens (UseLocalServer)
    /// with its own pipeline: without it, a revoked admin token kept working there until it expired.
    /// </summary>
    public static OpenIddictValidationHandlerDescriptor ValidationDescriptor { get; }
        = OpenIddictValidationHandlerDescriptor.CreateBuilder<ValidationValidateToken>()
            .UseSingletonHandler<RejectRevokedAccessTokens>()
            .SetOrder(OpenIddictValidationHandlers.Protection.ValidateExpirationDate.Descriptor.Order + 500)
            .SetType(OpenIddictValidationHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ServerValidateToken context)
    {
        if (Refusal(context.Principal) is { } reason)
        {
            context.Reject(Errors.InvalidToken, reason);
        }

        return default;
    }

    public ValueTask HandleAsync(ValidationValidateToken context)
    {
        if (Refusal(context.Principal) is { } reason)
        {
            context.Reject(Errors.InvalidToken, reason);
        }

        return default;
    }

    private string? Refusal(System.Security.Claims.ClaimsPrincipal? principal) =>
        principal is not null && principal.HasTokenType(TokenTypeIdentifiers.AccessToken) ? revoked.Refusal(principal) : null;
}
