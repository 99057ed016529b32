using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityHub.Server.Pages.Account.Logout;

/// <summary>
/// Asks before signing out. When a department app started the logout (RP-initiated logout), the form
/// posts the protocol parameters back to /connect/endsession so that the app is told; otherwise it
/// posts here.
/// </summary>
public sealed class IndexModel(SignInManager<ApplicationUser> signInManager, IAuditLog audit, SessionService sessions, FrontChannelLogout frontChannel) : PageModel
{
    private const string SignedOutPage = "/Account/Logout?signedOut=true";

    public bool SignedOut { get; private set; }

    public string FormAction { get; private set; } = "/Account/Logout";

    public List<(string Name, string Value)> ProtocolParameters { get; } = [];

    public IActionResult OnGet(bool signedOut = false)
    {
        if (signedOut || User.Identity?.IsAuthenticated != true)
        {
            SignedOut = true;
            return Page();
        }

        foreach (var (name, values) in Request.Query)
        {
            if (EndSessionEndpoint.ProtocolParameters.Contains(name))
            {
                ProtocolParameters.Add((name, values.ToString()));
            }
        }

        if (ProtocolParameters.Count > 0)
        {
            FormAction = "/connect/endsession";
        }

        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var userId = signInManager.UserManager.GetUserId(User);
        var sessionId = SessionFacts.From(User)?.SessionId;
        var actor = AuditActor.User(userId ?? "", User.Identity?.Name);
        if (userId is not null)
        {
            await audit.WriteAsync(actor, new IdentityHub.Server.Audit.SignedOut(userId, sessionId, null, null, "person"));
        }

        var ended = await sessions.EndAsync(sessionId, SessionEndReason.Logout, actor, HttpContext.RequestAborted);
        await signInManager.SignOutAsync();
        // The apps that registered a front-channel URI are told in iframes first.
        return LocalRedirect(frontChannel.PageFor(ended, SignedOutPage) ?? SignedOutPage);
    }
}
