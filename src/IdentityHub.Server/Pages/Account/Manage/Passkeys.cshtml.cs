using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>Passkeys (WebAuthn, through ASP.NET Core Identity): register this device's, list, remove.</summary>
public sealed partial class PasskeysModel(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signInManager,
    SecurityEvents events,
    IStringLocalizer<SharedResource> text,
    ILogger<PasskeysModel> logger) : ManagePage(users)
{
    [BindProperty]
    public string? CredentialJson { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? CredentialId { get; set; }

    public IList<UserPasskeyInfo> Passkeys { get; private set; } = [];

    public async Task OnGetAsync() => Passkeys = await Users.GetPasskeysAsync(await CurrentUserAsync());

    /// <summary>WebAuthn creation options for the signed-in account (its existing passkeys are excluded).</summary>
    public async Task<IActionResult> OnPostCreationOptionsAsync()
    {
        var user = await CurrentUserAsync();
        var options = await signInManager.MakePasskeyCreationOptionsAsync(new PasskeyUserEntity
        {
            Id = user.Id,
            Name = user.UserName ?? user.Id,
            DisplayName = user.DisplayName ?? user.UserName ?? user.Id,
        });
        return Content(options, "application/json");
    }

    public async Task<IActionResult> OnPostAddAsync()
    {
        var user = await CurrentUserAsync();
        var attestation = string.IsNullOrEmpty(CredentialJson) ? null : await signInManager.PerformPasskeyAttestationAsync(CredentialJson);
        if (attestation is not { Succeeded: true } || attestation.UserEntity.Id != user.Id)
        {
            PasskeyFailed(logger, attestation?.Failure?.Message ?? "no credential");
            Errors.Add(text["Passkey_AddFailed"]);
            Passkeys = await Users.GetPasskeysAsync(user);
            return Page();
        }

        var passkey = attestation.Passkey;
        passkey.Name = string.IsNullOrWhiteSpace(Name) ? text["Passkey_DefaultName"] : Name.Trim()[..Math.Min(Name.Trim().Length, 50)];
        await Users.AddOrUpdatePasskeyAsync(user, passkey);
        var kind = AuthenticationMethods.OfPasskey(passkey.IsBackupEligible, userVerified: false)[0];
        await events.RecordAsync(AccountAction.PasskeyAdded, user.Id, kind);
        await events.AlertAsync(user, SecurityMessageKind.FactorAdded, "passkey");
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRemoveAsync()
    {
        var user = await CurrentUserAsync();
        byte[] id;
        try
        {
            id = WebEncoders.Base64UrlDecode(CredentialId ?? "");
        }
        catch (FormatException)
        {
            return RedirectToPage();
        }

        if ((await Users.RemovePasskeyAsync(user, id)).Succeeded)
        {
            await events.RecordAsync(AccountAction.PasskeyRemoved, user.Id, "passkey");
            await events.AlertAsync(user, SecurityMessageKind.FactorRemoved, "passkey");
        }

        return RedirectToPage();
    }

    [LoggerMessage(EventId = 9200, Level = LogLevel.Warning, Message = "Passkey registration refused: {Reason}")]
    private static partial void PasskeyFailed(ILogger logger, string reason);
}
