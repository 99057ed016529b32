using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Login;

/// <summary>
/// The second step: after a first factor when two-step verification is on (a pending sign-in), or a
/// step-up of a signed-in single-factor session that a department app asked to be multi-factor. It
/// offers the factors the account has and has not used yet; a step-up keeps the session id.
/// </summary>
[EnableRateLimiting(RateLimiting.SignIn)]
public sealed class SecondFactorModel(
    UserManager<ApplicationUser> users,
    SecondFactors factors,
    SignInCompletion completion,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public SecondFactorMethod Method { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    public IReadOnlyList<SecondFactorMethod> Available { get; private set; } = [];

    public bool StepUp { get; private set; }

    public bool SmsSent { get; private set; }

    public string? ErrorMessage { get; private set; }

    public async Task<IActionResult> OnGetAsync() =>
        await SubjectAsync() is null ? RedirectToLogin() : Page();

    public async Task<IActionResult> OnPostSendSmsAsync()
    {
        if (await SubjectAsync() is not { } subject)
        {
            return RedirectToLogin();
        }

        var issue = await factors.SendSmsAsync(subject.User, HttpContext.RequestAborted);
        if (!issue.Sent)
        {
            ErrorMessage = text["RateLimited", AccountPages.Seconds(issue.RetryAfter)];
            return issue.RetryAfter > TimeSpan.Zero ? this.TooManyRequests(issue.RetryAfter) : Page();
        }

        SmsSent = true;
        return Page();
    }

    public async Task<IActionResult> OnPostVerifyAsync()
    {
        if (await SubjectAsync() is not { } subject)
        {
            return RedirectToLogin();
        }

        SmsSent = Method == SecondFactorMethod.Sms;
        var added = Available.Contains(Method)
            ? await factors.VerifyAsync(subject.User, Method, Code, HttpContext.RequestAborted)
            : null;
        if (added is null)
        {
            var locked = await users.IsLockedOutAsync(subject.User);
            await completion.FailedAsync(HttpContext, subject.User, locked ? "locked_out" : "invalid_code", this.LocalOrHome(ReturnUrl),
                Method.ToString().ToLowerInvariant(), StepUp);
            ErrorMessage = locked ? text["SecondFactor_Locked"] : text["SecondFactor_Invalid"];
            return Page();
        }

        var returnUrl = this.LocalOrHome(ReturnUrl);
        await completion.SignInAsync(HttpContext, subject.User, [.. subject.Methods, added], returnUrl, subject.SessionId);
        return LocalRedirect(returnUrl);
    }

    /// <summary>Who is signing in: the pending first factor of this browser, or the signed-in session.</summary>
    private async Task<(ApplicationUser User, IReadOnlyList<string> Methods, string? SessionId)?> SubjectAsync()
    {
        ApplicationUser? user;
        IReadOnlyList<string> methods;
        string? sessionId = null;
        if (await PendingSignIn.ReadAsync(HttpContext) is { } pending)
        {
            user = await users.FindByIdAsync(pending.UserId);
            methods = pending.Methods;
        }
        else if (SessionFacts.From(User) is { } session)
        {
            user = await users.GetUserAsync(User);
            methods = session.Methods;
            sessionId = session.SessionId;
            StepUp = true;
        }
        else
        {
            return null;
        }

        if (user is null)
        {
            return null;
        }

        Available = await factors.AvailableAsync(user, methods, HttpContext.RequestAborted);
        return (user, methods, sessionId);
    }

    private IActionResult RedirectToLogin() => RedirectToPage("/Account/Login/Index", new { ReturnUrl = this.LocalOrHome(ReturnUrl) });
}
