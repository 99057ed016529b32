using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Pages.Account.Login;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>
/// Confirms the account's mobile number with an SMS code. A confirmed number can receive sign-in,
/// second-step and password-reset codes (the number itself is set by the service hall).
/// </summary>
public sealed class PhoneModel(
    UserManager<ApplicationUser> users,
    SmsCodes codes,
    SecurityEvents events,
    IStringLocalizer<SharedResource> text) : ManagePage(users)
{
    [BindProperty]
    public string? Code { get; set; }

    public ApplicationUser Account { get; private set; } = null!;

    public bool CodeSent { get; private set; }

    public async Task OnGetAsync() => Account = await CurrentUserAsync();

    public async Task<IActionResult> OnPostSendAsync()
    {
        Account = await CurrentUserAsync();
        if (Account.PhoneNumber is not { } number || Account.PhoneNumberConfirmed)
        {
            return Page();
        }

        var issue = await codes.IssueAsync(number, SmsCodePurpose.ConfirmPhone, Account.Id, deliver: true, HttpContext.RequestAborted);
        await events.RecordAsync(issue.Sent ? AccountAction.SmsCodeSent : AccountAction.SmsCodeRefused, Account.Id, AuthenticationMethods.Sms);
        if (!issue.Sent)
        {
            Errors.Add(text["RateLimited", AccountPages.Seconds(issue.RetryAfter)]);
            return this.TooManyRequests(issue.RetryAfter);
        }

        CodeSent = true;
        return Page();
    }

    public async Task<IActionResult> OnPostConfirmAsync()
    {
        Account = await CurrentUserAsync();
        CodeSent = true;
        if (Account.PhoneNumber is not { } number)
        {
            return Page();
        }

        var result = await codes.VerifyAsync(number, SmsCodePurpose.ConfirmPhone, Code, HttpContext.RequestAborted);
        if (result != SmsVerification.Succeeded)
        {
            await events.RecordAsync(AccountAction.SmsCodeFailed, Account.Id, AuthenticationMethods.Sms);
            Errors.Add(SmsMessages.For(result, text));
            return Page();
        }

        Account.PhoneNumberConfirmed = true;
        await Users.UpdateAsync(Account);
        await events.RecordAsync(AccountAction.PhoneConfirmed, Account.Id, AuthenticationMethods.Sms);
        await events.AlertAsync(Account, SecurityMessageKind.FactorAdded, "sms");
        return RedirectToPage();
    }
}
