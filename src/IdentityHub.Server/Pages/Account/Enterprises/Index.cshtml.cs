using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Identity.RealName;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Enterprises;

/// <summary>The enterprises a person represents or acts for, and registering one (as its legal representative).</summary>
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    RealNameService realNames,
    EnterpriseRegistry registry,
    AgentMandates mandates,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public string? CreditCode { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    public List<EnterpriseView> Enterprises { get; private set; } = [];

    public RealNameRecord? Identity { get; private set; }

    public string? Message { get; private set; }

    public bool Succeeded { get; private set; }

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() is null ? Challenge() : Page();

    public async Task<IActionResult> OnPostRegisterAsync()
    {
        if (await LoadAsync() is not { } user)
        {
            return Challenge();
        }

        var (status, _) = await registry.RegisterAsync(user, CreditCode, Name, HttpContext.RequestAborted);
        Succeeded = status is EnterpriseRegistrationStatus.Verified or EnterpriseRegistrationStatus.PendingReview;
        Message = text["Enterprise_" + status];
        await LoadAsync();
        return Page();
    }

    private async Task<ApplicationUser?> LoadAsync()
    {
        var user = await users.GetUserAsync(User);
        if (user is not null)
        {
            Identity = await realNames.FindAsync(user.Id, HttpContext.RequestAborted);
            Enterprises = await mandates.MineAsync(user.Id, HttpContext.RequestAborted);
        }

        return user;
    }
}
