using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Validation.AspNetCore;

namespace IdentityHub.Server.Api;

/// <summary>
/// /api/admin. Two ways in: a bearer access token issued by this server (client credentials of the
/// bootstrap client, scope identityhub.admin: platform administrator), or a person's IdentityHub sign-in
/// cookie with a registry role (platform-admin, department-admin + department, auditor; changes need the
/// X-IdentityHub-Csrf header). No credentials: 401; credentials without a role: 403 (RFC 6750 section 3.1).
/// </summary>
public static class AdminApi
{
    public const string Policy = "identityhub.admin";

    /// <summary>Bearer token when an Authorization header is present, the sign-in cookie otherwise.</summary>
    public const string Scheme = "IdentityHub.Admin";

    public static IServiceCollection AddAdminApi(this IServiceCollection services)
    {
        services.AddAuthentication().AddPolicyScheme(Scheme, "IdentityHub administration", options =>
        {
            options.ForwardDefaultSelector = context => context.Request.Headers.Authorization.Count > 0
                ? OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme
                : IdentityConstants.ApplicationScheme;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy
                .AddAuthenticationSchemes(Scheme)
                .RequireAuthenticatedUser());
        services.AddScoped<UserAdministration>();
        return services;
    }

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin")
            .RequireAuthorization(Policy)
            .AddEndpointFilter<AdminActorFilter>()
            .WithTags("Administration")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        admin.MapDepartments();
        admin.MapClients();
        admin.MapRegistry();
        admin.MapSessions();
        return routes;
    }
}
