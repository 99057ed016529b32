using Microsoft.AspNetCore.Authentication;
using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The userinfo endpoint (OIDC Core section 5.3): the claims of the scopes the access token carries.</summary>
public static class UserInfoEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, UserManager<ApplicationUser> users, ClaimsFactory claims)
    {
        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var subject = result.Principal?.GetClaim(Claims.Subject);
        var user = subject is null ? null : await users.FindByIdAsync(subject);
        if (result.Principal is null || user is null)
        {
            // RFC 6750 section 3.1.
            return OidcResults.Challenge(Errors.InvalidToken, "The access token does not belong to a user.");
        }

        return Results.Ok(claims.CreateUserInfo(user, result.Principal.GetScopes()));
    }
}
