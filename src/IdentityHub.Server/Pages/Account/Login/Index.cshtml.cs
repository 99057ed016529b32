using System.Globalization;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Localization;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Pages.Account.Login;

/// <summary>
/// Sign in with a user name or mobile number and a password, or with a passkey. A failure never tells
/// whether the account exists: the same message, and the same hashing time, for an unknown name and a
/// wrong password. A lockout is only disclosed to someone who typed the right password. With two-step
/// verification on, a first factor leads on to /Account/Login/SecondFactor. Every failure is audited
/// (signin.failed with its reason) before the answer leaves; SignInCompletion audits the success.
/// </summary>
[EnableRateLimiting(RateLimiting.SignIn)]
public sealed class IndexModel(
    SignInManager<ApplicationUser> signInManager,
    AccountLookup accounts,
    PasswordTimingEqualizer timing,
    IOpenIddictApplicationManager applications,
    SignInCompletion completion,
    Lockouts lockouts,
    AccountRateLimiter accountLimiter,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public InputModel Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>The JSON of navigator.credentials.get(), posted by the passkey button's script.</summary>
    [BindProperty]
    public string? CredentialJson { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool PasswordReset { get; set; }

    public string? ErrorMessage { get; private set; }

    public string? ClientName { get; private set; }

    public async Task OnGetAsync() => ClientName = await ClientNameAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        // The client's display name is only shown when the page is rendered again (a refused sign-in); a successful
        // sign-in redirects without it, and without its database lookup (docs/benchmarks.md, the signin scenario).
        if (!ModelState.IsValid)
        {
            return await PageWithClientNameAsync();
        }

        if (accountLimiter.IsLimited(Input.SignInName, out var retryAfter))
        {
            ErrorMessage = text["RateLimited", AccountPages.Seconds(retryAfter)];
            ClientName = await ClientNameAsync();
            return this.TooManyRequests(retryAfter);
        }

        var user = await accounts.FindForPasswordSignInAsync(Input.SignInName, HttpContext.RequestAborted);
        if (user is null)
        {
            await timing.SpendAsync(Input.Password, HttpContext.RequestAborted);
            accountLimiter.RecordFailure(Input.SignInName);
            await FailedAsync(null, "unknown_account");
            ErrorMessage = text["Login_Invalid"];
            return await PageWithClientNameAsync();
        }

        var wasLocked = await signInManager.UserManager.IsLockedOutAsync(user);
        var result = await signInManager.CheckPasswordSignInAsync(user, Input.Password, lockoutOnFailure: true);
        if (result.IsLockedOut)
        {
            accountLimiter.RecordFailure(Input.SignInName);
            await lockouts.NoteIfNewlyLockedAsync(user, wasLocked);
            // CheckPasswordSignInAsync does not verify the password of a locked account; do it here so
            // that only the account's owner learns about the lockout.
            var ownerKnowsPassword = await signInManager.UserManager.CheckPasswordAsync(user, Input.Password);
            var end = await signInManager.UserManager.GetLockoutEndDateAsync(user);
            ErrorMessage = ownerKnowsPassword && end is not null
                ? text["Login_LockedOut", end.Value.ToLocalTime().ToString("g", CultureInfo.CurrentCulture)]
                : text["Login_Invalid"];
            await FailedAsync(user, "locked_out");
            return await PageWithClientNameAsync();
        }

        if (!result.Succeeded)
        {
            accountLimiter.RecordFailure(Input.SignInName);
            await FailedAsync(user, result.IsNotAllowed ? "not_allowed" : "invalid_password");
            ErrorMessage = text["Login_Invalid"];
            return await PageWithClientNameAsync();
        }

        return LocalRedirect(await completion.AfterFirstFactorAsync(HttpContext, user, [AuthenticationMethods.Password], this.LocalOrHome(ReturnUrl)));
    }

    /// <summary>WebAuthn request options for a discoverable passkey (no user name typed).</summary>
    public async Task<IActionResult> OnPostPasskeyOptionsAsync() =>
        Content(await signInManager.MakePasskeyRequestOptionsAsync(user: null), "application/json");

    public async Task<IActionResult> OnPostPasskeyAsync()
    {
        ClientName = await ClientNameAsync();
        var assertion = string.IsNullOrEmpty(CredentialJson) ? null : await signInManager.PerformPasskeyAssertionAsync(CredentialJson);
        if (assertion is not { Succeeded: true })
        {
            await FailedAsync(null, "passkey_failed");
            ErrorMessage = text["Passkey_SignInFailed"];
            return Page();
        }

        var user = assertion.User;
        if (await signInManager.UserManager.IsLockedOutAsync(user) || !await signInManager.CanSignInAsync(user))
        {
            await FailedAsync(user, "not_allowed");
            ErrorMessage = text["Passkey_SignInFailed"];
            return Page();
        }

        // The new signature counter and flags (WebAuthn section 7.2, step 21).
        await signInManager.UserManager.AddOrUpdatePasskeyAsync(user, assertion.Passkey);
        var methods = AuthenticationMethods.OfPasskey(assertion.Passkey.IsBackupEligible, assertion.Passkey.IsUserVerified);
        return LocalRedirect(await completion.AfterFirstFactorAsync(HttpContext, user, methods, this.LocalOrHome(ReturnUrl)));
    }

    private async Task<IActionResult> PageWithClientNameAsync()
    {
        ClientName = await ClientNameAsync();
        return Page();
    }

    private Task FailedAsync(ApplicationUser? user, string reason) =>
        completion.FailedAsync(HttpContext, user, reason, this.LocalOrHome(ReturnUrl));

    /// <summary>The display name of the department app that sent the person here, from the ReturnUrl's client_id.</summary>
    private async Task<string?> ClientNameAsync()
    {
        if (AuthorizeEndpoint.ClientIdOf(this.LocalOrHome(ReturnUrl)) is not { } clientId)
        {
            return null;
        }

        var application = await applications.FindByClientIdAsync(clientId, HttpContext.RequestAborted);
        return application is null ? null : await applications.GetLocalizedDisplayNameAsync(application, CultureInfo.CurrentUICulture, HttpContext.RequestAborted);
    }
}
