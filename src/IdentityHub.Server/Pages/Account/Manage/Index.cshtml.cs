using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>Account security overview: which factors are set up, the session's level, two-step verification on or off.</summary>
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    TotpService totp,
    RecoveryCodes recovery,
    SecurityEvents events,
    IStringLocalizer<SharedResource> text) : ManagePage(users)
{
    public ApplicationUser Account { get; private set; } = null!;

    public bool TotpEnabled { get; private set; }

    public int RecoveryCodesLeft { get; private set; }

    public int PasskeyCount { get; private set; }

    public IReadOnlyList<string> SessionMethods { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostEnableTwoFactorAsync()
    {
        await LoadAsync();
        if (!TotpEnabled && !Account.PhoneNumberConfirmed)
        {
            Errors.Add(text["Manage_NeedSecondFactor"]);
            return Page();
        }

        await Users.SetTwoFactorEnabledAsync(Account, true);
        await events.RecordAsync(AccountAction.TwoFactorEnabled, Account.Id);
        await events.AlertAsync(Account, SecurityMessageKind.FactorAdded, "two_step");
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDisableTwoFactorAsync()
    {
        await LoadAsync();
        await Users.SetTwoFactorEnabledAsync(Account, false);
        await events.RecordAsync(AccountAction.TwoFactorDisabled, Account.Id);
        await events.AlertAsync(Account, SecurityMessageKind.FactorRemoved, "two_step");
        return RedirectToPage();
    }

    private async Task LoadAsync()
    {
        Account = await CurrentUserAsync();
        TotpEnabled = await totp.IsEnabledAsync(Account.Id, HttpContext.RequestAborted);
        RecoveryCodesLeft = await recovery.RemainingAsync(Account.Id, HttpContext.RequestAborted);
        PasskeyCount = (await Users.GetPasskeysAsync(Account)).Count;
        SessionMethods = SessionFacts.From(User)?.Methods ?? [];
    }
}
