using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>
/// Change the password (the current one is asked for; a wrong one counts towards lockout). The new
/// password follows the rules: length, not a common password. Other sessions lose their cookie at the
/// next security-stamp check; this one is re-issued with its session facts.
/// </summary>
public sealed class PasswordModel(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signInManager,
    Lockouts lockouts,
    SecurityEvents events,
    IStringLocalizer<SharedResource> text) : ManagePage(users)
{
    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var user = await CurrentUserAsync();
        if (await Users.IsLockedOutAsync(user) || !await Users.CheckPasswordAsync(user, CurrentPassword ?? ""))
        {
            await lockouts.FailAsync(user, AccountAction.SignInFailed, AuthenticationMethods.Password);
            Errors.Add(text["Password_CurrentWrong"]);
            return Page();
        }

        var result = await Users.ChangePasswordAsync(user, CurrentPassword!, NewPassword ?? "");
        if (!result.Succeeded)
        {
            Errors.AddRange(result.Errors.Select(e => e.Description));
            return Page();
        }

        await RefreshSessionAsync(signInManager, user);
        await events.RecordAsync(AccountAction.PasswordChanged, user.Id, AuthenticationMethods.Password);
        await events.AlertAsync(user, SecurityMessageKind.PasswordChanged);
        StatusMessage = text["Password_Changed"];
        return Page();
    }
}
