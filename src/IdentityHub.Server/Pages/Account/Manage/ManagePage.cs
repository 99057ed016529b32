using System.Security.Claims;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>
/// The account pages: signed-in only, form posts rate-limited per IP, and forms protected by
/// antiforgery tokens (Razor Pages validates them on every POST).
/// </summary>
[Authorize]
[EnableRateLimiting(RateLimiting.Verify)]
public abstract class ManagePage(UserManager<ApplicationUser> users) : PageModel
{
    protected UserManager<ApplicationUser> Users => users;

    public string? StatusMessage { get; protected set; }

    public List<string> Errors { get; } = [];

    /// <summary>The signed-in account (the cookie is valid, so it exists unless deleted a moment ago).</summary>
    protected async Task<ApplicationUser> CurrentUserAsync() =>
        await users.GetUserAsync(User) ?? throw new InvalidOperationException("The signed-in account no longer exists.");

    /// <summary>
    /// Re-issues the sign-in cookie after a change of the security stamp (a new password), keeping the
    /// session facts (sid, auth_time, amr) and the cookie's properties.
    /// </summary>
    protected async Task RefreshSessionAsync(SignInManager<ApplicationUser> signInManager, ApplicationUser user)
    {
        var cookie = await HttpContext.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        var session = SessionFacts.From(User);
        await signInManager.SignInWithClaimsAsync(user, cookie.Properties, session?.ToClaims() ?? Array.Empty<Claim>());
    }
}
