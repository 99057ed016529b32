using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Login;

/// <summary>
/// Sign in with a mobile number and an SMS code. The page answers the same whether or not the number
/// belongs to an account (a code is only delivered to a confirmed number of an account).
/// </summary>
[EnableRateLimiting(RateLimiting.SignIn)]
public sealed class SmsModel(
    UserManager<ApplicationUser> users,
    SmsCodes codes,
    SignInCompletion completion,
    SecurityEvents events,
    AccountRateLimiter accountLimiter,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public string? PhoneNumber { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool CodeSent { get; private set; }

    public string? ErrorMessage { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostSendAsync()
    {
        if (!MobileNumber.TryNormalize(PhoneNumber, out var number))
        {
            ErrorMessage = text["Sms_InvalidNumber"];
            return Page();
        }

        PhoneNumber = number;
        var user = await FindAsync(number);
        var issue = await codes.IssueAsync(number, SmsCodePurpose.SignIn, user?.Id, deliver: user is not null, HttpContext.RequestAborted);
        await events.RecordAsync(issue.Sent ? AccountAction.SmsCodeSent : AccountAction.SmsCodeRefused, user?.Id, AuthenticationMethods.Sms);
        if (!issue.Sent)
        {
            ErrorMessage = text["RateLimited", AccountPages.Seconds(issue.RetryAfter)];
            return this.TooManyRequests(issue.RetryAfter);
        }

        CodeSent = true;
        return Page();
    }

    public async Task<IActionResult> OnPostVerifyAsync()
    {
        CodeSent = true;
        if (!MobileNumber.TryNormalize(PhoneNumber, out var number))
        {
            ErrorMessage = text["Sms_InvalidNumber"];
            return Page();
        }

        if (accountLimiter.IsLimited(number, out var retryAfter))
        {
            ErrorMessage = text["RateLimited", AccountPages.Seconds(retryAfter)];
            return this.TooManyRequests(retryAfter);
        }

        var result = await codes.VerifyAsync(number, SmsCodePurpose.SignIn, Code, HttpContext.RequestAborted);
        // Looked up whatever the code, for the audit record only: the answer below is the same either way.
        var account = await FindAsync(number);
        var locked = account is not null && await users.IsLockedOutAsync(account);
        if (result != SmsVerification.Succeeded || account is null || locked)
        {
            accountLimiter.RecordFailure(number);
            await events.RecordAsync(AccountAction.SmsCodeFailed, result == SmsVerification.Succeeded ? account?.Id : null, AuthenticationMethods.Sms);
            var reason = result switch
            {
                SmsVerification.Expired => "code_expired",
                SmsVerification.TooManyAttempts => "too_many_attempts",
                SmsVerification.Invalid => "invalid_code",
                _ => account is null ? "unknown_account" : "locked_out",
            };
            await completion.FailedAsync(HttpContext, account, reason, this.LocalOrHome(ReturnUrl), AuthenticationMethods.Sms);
            ErrorMessage = SmsMessages.For(result == SmsVerification.Succeeded ? SmsVerification.Invalid : result, text);
            return Page();
        }

        var user = account;

        return LocalRedirect(await completion.AfterFirstFactorAsync(HttpContext, user, [AuthenticationMethods.Sms], this.LocalOrHome(ReturnUrl)));
    }

    private Task<ApplicationUser?> FindAsync(string number) =>
        users.Users.FirstOrDefaultAsync(u => u.PhoneNumber == number && u.PhoneNumberConfirmed, HttpContext.RequestAborted);
}

/// <summary>The message for a failed SMS code check.</summary>
public static class SmsMessages
{
    public static string For(SmsVerification result, IStringLocalizer text) => result switch
    {
        SmsVerification.Expired => text["Sms_Expired"],
        SmsVerification.TooManyAttempts => text["Sms_TooManyAttempts"],
        _ => text["Sms_Invalid"],
    };
}
