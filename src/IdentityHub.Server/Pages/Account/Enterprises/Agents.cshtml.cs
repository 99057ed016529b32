using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Enterprises;

/// <summary>The legal representative authorises agents (verified citizens, until a date) and revokes them.</summary>
public sealed class AgentsModel(UserManager<ApplicationUser> users, AgentMandates mandates, IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Id { get; set; }

    [BindProperty]
    public string? Mobile { get; set; }

    [BindProperty]
    public string? AgentName { get; set; }

    [BindProperty]
    public DateOnly? Expires { get; set; }

    public Enterprise? Enterprise { get; private set; }

    public List<AgentView> Agents { get; private set; } = [];

    public string? Message { get; private set; }

    public bool Succeeded { get; private set; }

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() is null ? NotFound() : Page();

    public async Task<IActionResult> OnPostGrantAsync()
    {
        if (await LoadAsync() is not { } user)
        {
            return NotFound();
        }

        var result = await mandates.GrantAsync(user, Enterprise!, Mobile, AgentName, Expires, HttpContext.RequestAborted);
        return await AnswerAsync(result);
    }

    public async Task<IActionResult> OnPostRevokeAsync(string? mandateId)
    {
        if (await LoadAsync() is not { } user)
        {
            return NotFound();
        }

        return await AnswerAsync(await mandates.RevokeAsync(user, Enterprise!, mandateId, HttpContext.RequestAborted));
    }

    private async Task<IActionResult> AnswerAsync(MandateResult result)
    {
        Succeeded = result is MandateResult.Granted or MandateResult.Revoked;
        Message = text["Agent_" + result];
        await LoadAsync();
        return Page();
    }

    /// <summary>The signed-in person and the enterprise they represent (null: not theirs, or not signed in).</summary>
    private async Task<ApplicationUser?> LoadAsync()
    {
        var user = await users.GetUserAsync(User);
        Enterprise = user is null ? null : await mandates.RepresentedAsync(user.Id, Id, HttpContext.RequestAborted);
        if (Enterprise is null)
        {
            return null;
        }

        Agents = await mandates.AgentsAsync(Enterprise.Id, HttpContext.RequestAborted);
        return user;
    }
}
