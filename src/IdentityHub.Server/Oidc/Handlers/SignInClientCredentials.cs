using System.Security.Claims;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The token endpoint's client_credentials grant (RFC 6749 section 4.4) is signed in inside OpenIddict, where the
/// pass-through would hand it to <see cref="TokenEndpoint"/>: it takes the place of OpenIddict's EnablePassthroughMode
/// handler of the token endpoint (same order, same filters) and calls SignIn with the client's principal, so that
/// OpenIddict's HandleTokenRequest runs the very same sign-in (ProcessSignIn: token generation, our handlers, the
/// token.issued audit event) without the second half of the ASP.NET Core pipeline (authorization, endpoint, parameter
/// binding of the endpoint's services, the authentication service's SignInAsync). Every other grant passes through
/// exactly as before (SkipRequest). The principal is the one <see cref="TokenEndpoint"/> built: the same
/// <see cref="ClaimsFactory.CreateClientIdentity"/> call, with the client's display name and the audiences.
/// OpenIddict has authenticated the client and validated the request (grant type and scope permissions, scopes,
/// <see cref="RejectInactiveClients"/>) before this runs.
/// </summary>
public sealed class SignInClientCredentials(IOpenIddictApplicationManager applications, IOptions<OidcOptions> options)
    : IOpenIddictServerHandler<HandleTokenRequestContext>
{
    /// <summary>OpenIddict's pass-through handler of the token endpoint, which <see cref="Descriptor"/> replaces (OidcExtensions).</summary>
    public static OpenIddictServerHandlerDescriptor Passthrough =>
        OpenIddictServerAspNetCoreHandlers.EnablePassthroughMode<HandleTokenRequestContext,
            OpenIddictServerAspNetCoreHandlerFilters.RequireTokenEndpointPassthroughEnabled>.Descriptor;

    /// <summary>The pass-through's filters and order, this handler.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
            .Import(Passthrough)
            .UseScopedHandler<SignInClientCredentials>()
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(HandleTokenRequestContext context)
    {
        if (!context.Request.IsClientCredentialsGrantType())
        {
            // What OpenIddict's EnablePassthroughMode does at the token endpoint: the request goes on to TokenEndpoint.
            context.SkipRequest();
            return;
        }

        var principal = await CreatePrincipalAsync(context.Request, applications, options.Value, context.CancellationToken);
        if (principal is null)
        {
            // Cannot happen once OpenIddict has authenticated the client; answered as TokenEndpoint would.
            context.Reject(OpenIddictConstants.Errors.InvalidClient, "The client is unknown.");
            return;
        }

        context.SignIn(principal);
    }

    /// <summary>The principal of a client acting on its own behalf, or null when no client has the request's client_id.</summary>
    private static async ValueTask<ClaimsPrincipal?> CreatePrincipalAsync(OpenIddictRequest request, IOpenIddictApplicationManager applications,
        OidcOptions options, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(request.ClientId!, cancellationToken);
        if (application is null)
        {
            return null;
        }

        var displayName = await applications.GetDisplayNameAsync(application, cancellationToken);
        return new ClaimsPrincipal(ClaimsFactory.CreateClientIdentity(request.ClientId!, displayName, request.GetScopes(),
            AuthorizeEndpoint.Audiences(request, options)));
    }
}
