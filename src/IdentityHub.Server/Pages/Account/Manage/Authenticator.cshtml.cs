using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>
/// Authenticator app enrolment: a QR code and the key to type by hand, confirmed by a first code. The
/// confirmation turns on two-step verification and shows the recovery codes, once.
/// </summary>
public sealed class AuthenticatorModel(
    UserManager<ApplicationUser> users,
    TotpService totp,
    RecoveryCodes recovery,
    SecurityEvents events,
    IOptions<FactorOptions> options,
    IStringLocalizer<SharedResource> text) : ManagePage(users)
{
    [BindProperty]
    public string? Code { get; set; }

    public bool Enabled { get; private set; }

    public string? Secret { get; private set; }

    public string? QrCode { get; private set; }

    public IReadOnlyList<string> NewRecoveryCodes { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync(await CurrentUserAsync());

    public async Task<IActionResult> OnPostConfirmAsync()
    {
        var user = await CurrentUserAsync();
        if (!await totp.ConfirmAsync(user.Id, Code, HttpContext.RequestAborted))
        {
            await events.RecordAsync(AccountAction.SecondFactorFailed, user.Id, AuthenticationMethods.OneTimePassword);
            Errors.Add(text["Totp_InvalidCode"]);
            await LoadAsync(user);
            return Page();
        }

        await Users.SetTwoFactorEnabledAsync(user, true);
        NewRecoveryCodes = await recovery.RegenerateAsync(user.Id, HttpContext.RequestAborted);
        await events.RecordAsync(AccountAction.TotpEnabled, user.Id, AuthenticationMethods.OneTimePassword);
        await events.RecordAsync(AccountAction.RecoveryCodesGenerated, user.Id, "recovery");
        await events.AlertAsync(user, SecurityMessageKind.FactorAdded, "totp");
        Enabled = true;
        StatusMessage = text["Totp_Enabled"];
        return Page();
    }

    public async Task<IActionResult> OnPostDisableAsync()
    {
        var user = await CurrentUserAsync();
        await totp.DisableAsync(user.Id, HttpContext.RequestAborted);
        if (!user.PhoneNumberConfirmed)
        {
            // No second factor is left: two-step verification ends, and its recovery codes with it.
            await Users.SetTwoFactorEnabledAsync(user, false);
            await recovery.RemoveAllAsync(user.Id, HttpContext.RequestAborted);
        }

        await events.RecordAsync(AccountAction.TotpDisabled, user.Id, AuthenticationMethods.OneTimePassword);
        await events.AlertAsync(user, SecurityMessageKind.FactorRemoved, "totp");
        return RedirectToPage();
    }

    private async Task LoadAsync(ApplicationUser user)
    {
        Secret = await totp.PendingSecretAsync(user.Id, HttpContext.RequestAborted);
        Enabled = Secret is null;
        if (Secret is not null)
        {
            QrCode = TotpKeyUri.QrCodeDataUri(TotpKeyUri.Create(options.Value.TotpIssuer, user.UserName ?? user.Id, Secret));
        }
    }
}
