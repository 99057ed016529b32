namespace IdentityHub.Server.Oidc;

public static class OidcEndpoints
{
    /// <summary>The pass-through endpoints; discovery, JWKS, PAR, introspection and revocation are answered by OpenIddict itself.</summary>
    public static IEndpointRouteBuilder MapOidcEndpoints(this IEndpointRouteBuilder routes)
    {
        string[] getAndPost = [HttpMethods.Get, HttpMethods.Post];
        routes.MapMethods("/connect/authorize", getAndPost, AuthorizeEndpoint.HandleAsync).ExcludeFromDescription();
        routes.MapPost("/connect/token", (Delegate)TokenEndpoint.HandleAsync).ExcludeFromDescription();
        routes.MapMethods("/connect/userinfo", getAndPost, UserInfoEndpoint.HandleAsync).ExcludeFromDescription();
        routes.MapMethods("/connect/endsession", getAndPost, EndSessionEndpoint.HandleAsync).ExcludeFromDescription();
        return routes;
    }
}
