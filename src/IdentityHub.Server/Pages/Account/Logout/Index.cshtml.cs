using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityHub.Server.Pages.Account.Logout;

/// <summary>
/// Asks before signing out. When a department app started the logout (RP-initiated logout), the form
/// posts the protocol parameters back to /connect/endsession so that the app is told; otherwise it
/// posts here.
/// </summary>
public sealed class IndexModel(SignInManager<ApplicationUser> signInManager, IAuditLog audit) : PageModel
{
    private static readonly HashSet<string> EndSessionParameters = new(StringComparer.Ordinal)
    {
        "id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales", "logout_hint",
    };

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
            if (EndSessionParameters.Contains(name))
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
        if (signInManager.UserManager.GetUserId(User) is { } userId)
        {
            await audit.WriteAsync(AuditActor.User(userId, User.Identity?.Name),
                new SignedOut(userId, User.FindFirst(HubClaims.SessionId)?.Value, null, null, "person"));
        }

        await signInManager.SignOutAsync();
        return RedirectToPage(new { signedOut = true });
    }
}
