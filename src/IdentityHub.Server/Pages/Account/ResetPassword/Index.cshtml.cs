using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Pages.Account.Login;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.ResetPassword;

/// <summary>
/// A forgotten password, reset with an SMS code to the account's confirmed mobile number. The new
/// password is checked against the password rules before the code is spent. A reset also ends a lockout:
/// the code proves the owner's phone.
/// </summary>
[EnableRateLimiting(RateLimiting.SignIn)]
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    SmsCodes codes,
    SecurityEvents events,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public string? PhoneNumber { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool CodeSent { get; private set; }

    public List<string> Errors { get; } = [];

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostSendAsync()
    {
        if (!MobileNumber.TryNormalize(PhoneNumber, out var number))
        {
            Errors.Add(text["Sms_InvalidNumber"]);
            return Page();
        }

        PhoneNumber = number;
        var user = await FindAsync(number);
        var issue = await codes.IssueAsync(number, SmsCodePurpose.ResetPassword, user?.Id, deliver: user is not null, HttpContext.RequestAborted);
        await events.RecordAsync(issue.Sent ? AccountAction.SmsCodeSent : AccountAction.SmsCodeRefused, user?.Id, AuthenticationMethods.Sms);
        if (!issue.Sent)
        {
            Errors.Add(text["RateLimited", AccountPages.Seconds(issue.RetryAfter)]);
            return this.TooManyRequests(issue.RetryAfter);
        }

        CodeSent = true;
        return Page();
    }

    public async Task<IActionResult> OnPostResetAsync()
    {
        CodeSent = true;
        if (!MobileNumber.TryNormalize(PhoneNumber, out var number))
        {
            Errors.Add(text["Sms_InvalidNumber"]);
            return Page();
        }

        var user = await FindAsync(number);
        if (user is not null)
        {
            foreach (var validator in users.PasswordValidators)
            {
                var check = await validator.ValidateAsync(users, user, NewPassword ?? "");
                Errors.AddRange(check.Errors.Select(e => e.Description));
            }

            if (Errors.Count > 0)
            {
                return Page();
            }
        }

        var result = await codes.VerifyAsync(number, SmsCodePurpose.ResetPassword, Code, HttpContext.RequestAborted);
        if (result != SmsVerification.Succeeded || user is null)
        {
            await events.RecordAsync(AccountAction.SmsCodeFailed, user?.Id, AuthenticationMethods.Sms);
            Errors.Add(SmsMessages.For(result == SmsVerification.Succeeded ? SmsVerification.Invalid : result, text));
            return Page();
        }

        var token = await users.GeneratePasswordResetTokenAsync(user);
        var reset = await users.ResetPasswordAsync(user, token, NewPassword ?? "");
        if (!reset.Succeeded)
        {
            Errors.AddRange(reset.Errors.Select(e => e.Description));
            return Page();
        }

        await users.SetLockoutEndDateAsync(user, null);
        await users.ResetAccessFailedCountAsync(user);
        await events.RecordAsync(AccountAction.PasswordReset, user.Id, AuthenticationMethods.Sms);
        await events.AlertAsync(user, SecurityMessageKind.PasswordChanged, "reset");
        return RedirectToPage("/Account/Login/Index", new { ReturnUrl = this.LocalOrHome(ReturnUrl), PasswordReset = true });
    }

    private Task<ApplicationUser?> FindAsync(string number) =>
        users.Users.FirstOrDefaultAsync(u => u.PhoneNumber == number && u.PhoneNumberConfirmed, HttpContext.RequestAborted);
}
