using System.Globalization;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Localization;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Pages.Account.Login;

/// <summary>
/// Sign in with a user name or mobile number and a password. A failure never tells whether the account
/// exists: the same message, and the same hashing time, for an unknown name and a wrong password.
/// A lockout is only disclosed to someone who typed the right password. Every outcome is audited (signin.succeeded
/// or signin.failed with its reason) before the answer leaves.
/// </summary>
public sealed class IndexModel(
    SignInManager<ApplicationUser> signInManager,
    AccountLookup accounts,
    PasswordTimingEqualizer timing,
    IOpenIddictApplicationManager applications,
    ClientPolicies policies,
    IAuditLog audit,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public InputModel Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? ErrorMessage { get; private set; }

    public string? ClientName { get; private set; }

    public async Task OnGetAsync() => ClientName = await ClientNameAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        ClientName = await ClientNameAsync();
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var user = await accounts.FindBySignInNameAsync(Input.SignInName, HttpContext.RequestAborted);
        if (user is null)
        {
            timing.Spend(Input.Password);
            await FailedAsync(null, "unknown_account");
            ErrorMessage = text["Login_Invalid"];
            return Page();
        }

        var result = await signInManager.CheckPasswordSignInAsync(user, Input.Password, lockoutOnFailure: true);
        if (result.IsLockedOut)
        {
            // CheckPasswordSignInAsync does not verify the password of a locked account; do it here so
            // that only the account's owner learns about the lockout.
            var ownerKnowsPassword = await signInManager.UserManager.CheckPasswordAsync(user, Input.Password);
            var end = await signInManager.UserManager.GetLockoutEndDateAsync(user);
            ErrorMessage = ownerKnowsPassword && end is not null
                ? text["Login_LockedOut", end.Value.ToLocalTime().ToString("g", CultureInfo.CurrentCulture)]
                : text["Login_Invalid"];
            await FailedAsync(user, "locked_out");
            return Page();
        }

        if (!result.Succeeded)
        {
            await FailedAsync(user, result.IsNotAllowed ? "not_allowed" : "invalid_password");
            ErrorMessage = text["Login_Invalid"];
            return Page();
        }

        var returnUrl = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
        var session = new SessionFacts(
            SessionId: Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(),
            AuthenticatedAt: DateTimeOffset.UtcNow,
            Methods: ["pwd"]);
        var properties = new AuthenticationProperties();
        // Marks this login as performed for this authorize request (prompt=login / max_age).
        properties.Items[AuthorizeEndpoint.LoginForProperty] = AuthorizeEndpoint.HashReturnUrl(returnUrl);
        var client = await policies.FindAsync(ClientIdOf(ReturnUrl), HttpContext.RequestAborted);
        await audit.WriteAsync(AuditActor.User(user.Id, user.UserName),
            new SignInSucceeded(user.Id, client?.ClientId, client?.DepartmentCode, session.SessionId, session.Methods));
        await signInManager.SignInWithClaimsAsync(user, properties, session.ToClaims());
        return LocalRedirect(returnUrl);
    }

    private async Task FailedAsync(ApplicationUser? user, string reason)
    {
        var client = await policies.FindAsync(ClientIdOf(ReturnUrl), HttpContext.RequestAborted);
        await audit.WriteAsync(user is null ? new AuditActor("user", "anonymous", null) : AuditActor.User(user.Id, user.UserName),
            new SignInFailed(user?.Id, reason, client?.ClientId, client?.DepartmentCode));
    }

    /// <summary>The client_id of the authorize request a local ReturnUrl resumes, if any.</summary>
    private string? ClientIdOf(string? returnUrl)
    {
        if (!Url.IsLocalUrl(returnUrl) || returnUrl!.IndexOf('?', StringComparison.Ordinal) is var q && q < 0)
        {
            return null;
        }

        // ParseQuery returns a plain dictionary: its indexer throws for a missing key.
        return QueryHelpers.ParseQuery(returnUrl[q..]).TryGetValue("client_id", out var value) && value.ToString() is { Length: > 0 } id ? id : null;
    }

    /// <summary>The display name of the department app that sent the person here, from the ReturnUrl's client_id.</summary>
    private async Task<string?> ClientNameAsync()
    {
        if (ClientIdOf(ReturnUrl) is not { } clientId)
        {
            return null;
        }

        var application = await applications.FindByClientIdAsync(clientId, HttpContext.RequestAborted);
        return application is null ? null : await applications.GetLocalizedDisplayNameAsync(application, CultureInfo.CurrentUICulture, HttpContext.RequestAborted);
    }
}
