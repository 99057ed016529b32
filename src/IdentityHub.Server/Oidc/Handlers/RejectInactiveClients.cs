using IdentityHub.Server.Registry;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// A disabled client, or any client of a suspended department, obtains no code and no token: checked on
/// every authorization and token request against the database, so a change applies to the next request.
/// Runs after OpenIddict has authenticated the client, so that the answer tells nothing to someone who is
/// not the client. RFC 6749 sections 4.1.2.1 and 5.2: unauthorized_client.
/// At the token endpoint it runs before the presented code or refresh token is validated: suspension and
/// disabling revoke those (IssuedGrants), and the client is told why it is refused (unauthorized_client)
/// rather than invalid_grant. The check after the endpoint permissions stays as a backstop (a client known
/// only from its assertion).
/// </summary>
public sealed class RejectInactiveClients(ClientPolicies policies) :
    IOpenIddictServerHandler<ProcessAuthenticationContext>,
    IOpenIddictServerHandler<ValidateTokenRequestContext>,
    IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor TokenAuthenticationDescriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseScopedHandler<RejectInactiveClients>()
            // After the client's credentials (secret, assertion, certificate), before ValidateRequestToken and the tokens.
            .SetOrder(OpenIddictServerHandlers.ValidateClientCertificate.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public static OpenIddictServerHandlerDescriptor TokenDescriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseScopedHandler<RejectInactiveClients>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateEndpointPermissions.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseScopedHandler<RejectInactiveClients>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateEndpointPermissions.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (context.EndpointType == OpenIddictServerEndpointType.Token
            && await RefusalAsync(context.Request?.ClientId, context.CancellationToken) is { } reason)
        {
            context.Reject(Errors.UnauthorizedClient, reason);
        }
    }

    public async ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        if (await RefusalAsync(context.ClientId, context.CancellationToken) is { } reason)
        {
            context.Reject(Errors.UnauthorizedClient, reason);
        }
    }

    public async ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        if (await RefusalAsync(context.ClientId, context.CancellationToken) is { } reason)
        {
            context.Reject(Errors.UnauthorizedClient, reason);
        }
    }

    private async Task<string?> RefusalAsync(string? clientId, CancellationToken cancellationToken)
    {
        var policy = await policies.FindAsync(clientId, cancellationToken);
        return policy switch
        {
            null => null, // OpenIddict has rejected unknown clients already.
            { ClientActive: false } => "The client is disabled.",
            { DepartmentActive: false } => "The client's department is suspended.",
            _ => null,
        };
    }
}
