using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityHub.Server.Pages.Account.Sessions;

/// <summary>
/// The citizen's signed-in devices: each active SSO session with its device, coarse place, last activity and the
/// department apps used in it. Ending one tells those apps (back-channel) and revokes their refresh tokens; ending
/// this device's session signs out here as well.
/// </summary>
[Authorize]
public sealed class IndexModel(SessionService sessions, SignInManager<ApplicationUser> signInManager, FrontChannelLogout frontChannel) : PageModel
{
    private const string SignedOutPage = "/Account/Logout?signedOut=true";

    public IReadOnlyList<SessionSummary> Sessions { get; private set; } = [];

    public string? CurrentSessionId { get; private set; }

    public bool Ended { get; private set; }

    public async Task OnGetAsync(bool ended = false)
    {
        Ended = ended;
        CurrentSessionId = SessionFacts.From(User)?.SessionId;
        Sessions = await sessions.ListActiveAsync(UserId, HttpContext.RequestAborted);
    }

    public async Task<IActionResult> OnPostEndAsync(string sessionId)
    {
        if (!await sessions.BelongsToAsync(sessionId, UserId, HttpContext.RequestAborted))
        {
            return NotFound();
        }

        var ended = await sessions.EndAsync(sessionId, SessionEndReason.Citizen, AuditActor.User(UserId, User.Identity?.Name),
            HttpContext.RequestAborted);
        if (sessionId != SessionFacts.From(User)?.SessionId)
        {
            return RedirectToPage(new { ended = "true" });
        }

        await signInManager.SignOutAsync();
        return LocalRedirect(frontChannel.PageFor(ended, SignedOutPage) ?? SignedOutPage);
    }

    private string UserId => signInManager.UserManager.GetUserId(User) ?? throw new InvalidOperationException("Signed in without a user id.");
}
