using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// OIDC Core section 5.5: the claims request parameter, which OpenIddict passes through uninterpreted, must be a
/// JSON object of the defined shape (and verified_claims requests, OpenID Identity Assurance 1.0 section 6, must
/// carry verification and claims); anything else is invalid_request, redirected to the client by
/// <see cref="RedirectValidationErrors"/> when its redirect_uri is registered.
/// </summary>
public sealed class ValidateClaimsParameter : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseSingletonHandler<ValidateClaimsParameter>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateEndpointPermissions.Descriptor.Order + 600)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        var raw = (string?)context.Request[ClaimsRequest.Parameter];
        if (raw is not null && !ClaimsRequest.TryParse(raw, out _, out var error))
        {
            context.Reject(Errors.InvalidRequest, $"The '{ClaimsRequest.Parameter}' parameter {error}.");
        }

        return ValueTask.CompletedTask;
    }
}
