using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityHub.Server.Pages.Account.ActingFor;

/// <summary>
/// An agent or legal representative signing in to a department app that asked for the enterprise scope
/// chooses whom they act for: themselves, or one of their enterprises. The choice returns to the authorize
/// request, which checks it again against the mandates of the moment.
/// </summary>
public sealed class IndexModel(UserManager<ApplicationUser> users, AgentMandates mandates) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public IReadOnlyList<Identity.Enterprises.ActingFor> Options { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : BadRequest();

    public async Task<IActionResult> OnPostAsync(string? choice)
    {
        if (!await LoadAsync() || (choice != ActingChoice.Self && Options.All(o => o.EnterpriseId != choice)))
        {
            return BadRequest();
        }

        return LocalRedirect(QueryHelpers.AddQueryString(ActingChoice.WithoutChoice(ReturnUrl!), ActingChoice.Parameter, choice!));
    }

    private async Task<bool> LoadAsync()
    {
        var user = await users.GetUserAsync(User);
        if (user is null || ReturnUrl is null || !Url.IsLocalUrl(ReturnUrl) || !ReturnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal))
        {
            return false;
        }

        Options = await mandates.ActingOptionsAsync(user.Id, HttpContext.RequestAborted);
        return true;
    }
}
