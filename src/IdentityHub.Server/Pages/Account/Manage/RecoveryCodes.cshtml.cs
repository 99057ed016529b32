using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>New recovery codes (the old ones stop working); shown once.</summary>
public sealed class RecoveryCodesModel(UserManager<ApplicationUser> users, RecoveryCodes recovery, SecurityEvents events) : ManagePage(users)
{
    public IReadOnlyList<string> NewRecoveryCodes { get; private set; } = [];

    public int Remaining { get; private set; }

    public bool TwoFactorEnabled { get; private set; }

    public async Task OnGetAsync()
    {
        var user = await CurrentUserAsync();
        TwoFactorEnabled = user.TwoFactorEnabled;
        Remaining = await recovery.RemainingAsync(user.Id, HttpContext.RequestAborted);
    }

    public async Task<IActionResult> OnPostGenerateAsync()
    {
        var user = await CurrentUserAsync();
        TwoFactorEnabled = user.TwoFactorEnabled;
        if (!TwoFactorEnabled)
        {
            return Page();
        }

        NewRecoveryCodes = await recovery.RegenerateAsync(user.Id, HttpContext.RequestAborted);
        Remaining = NewRecoveryCodes.Count;
        await events.RecordAsync(AccountAction.RecoveryCodesGenerated, user.Id, "recovery");
        await events.AlertAsync(user, SecurityMessageKind.FactorAdded, "recovery");
        return Page();
    }
}
