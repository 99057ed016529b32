using System.Security.Claims;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Authentication;

namespace IdentityHub.Server.Factors;

/// <summary>
/// A sign-in that has passed its first factor and waits for the second: a short-lived cookie of its
/// own scheme with the account id and the methods used so far. (Identity's TwoFactorUserId cookie is
/// not used: Identity keeps its passkey ceremony state there.)
/// </summary>
public static class PendingSignIn
{
    public const string Scheme = "IdentityHub.Pending";

    public static Task StartAsync(HttpContext context, string userId, IEnumerable<string> methods)
    {
        var identity = new ClaimsIdentity(Scheme);
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, userId));
        foreach (var method in methods)
        {
            identity.AddClaim(new Claim(HubClaims.AuthenticationMethod, method));
        }

        return context.SignInAsync(Scheme, new ClaimsPrincipal(identity));
    }

    /// <summary>The waiting sign-in of this browser: account id and methods used, or null.</summary>
    public static async Task<(string UserId, IReadOnlyList<string> Methods)?> ReadAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(Scheme);
        var userId = result.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        if (!result.Succeeded || userId is null)
        {
            return null;
        }

        return (userId, result.Principal!.FindAll(HubClaims.AuthenticationMethod).Select(c => c.Value).ToList());
    }

    public static Task ClearAsync(HttpContext context) => context.SignOutAsync(Scheme);
}
