using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Registration;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Register;

/// <summary>
/// Self-service registration: a mobile number proved by an SMS code, and a password. The account starts
/// at L1; the next page offers real-name verification. Whether a number is registered is told only to
/// someone who proved they hold it.
/// </summary>
public sealed class IndexModel(
    SmsChallenges sms,
    AccountRegistration registration,
    SignInManager<ApplicationUser> signInManager,
    IStringLocalizer<SharedResource> text) : PageModel
{
    public const string Purpose = "registration";

    [BindProperty]
    public InputModel Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool CodeSent { get; private set; }

    public bool MobileTaken { get; private set; }

    public string? ErrorMessage { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostSendCodeAsync()
    {
        if (!MobileNumber.TryNormalize(Input.Mobile, out var mobile))
        {
            ErrorMessage = text["Register_InvalidMobile"];
            return Page();
        }

        var challenge = await sms.IssueAsync(mobile, Purpose,
            code => text["Sms_RegistrationCode", code, (int)SmsChallenges.Lifetime.TotalMinutes].Value, HttpContext.RequestAborted);
        CodeSent = challenge is not null || Input.ChallengeId is not null;
        ErrorMessage = challenge is null ? text["Register_CodeTooSoon"].Value : null;
        Input = new InputModel { Mobile = mobile, ChallengeId = challenge ?? Input.ChallengeId };
        ModelState.Clear();
        return Page();
    }

    public async Task<IActionResult> OnPostRegisterAsync()
    {
        CodeSent = true;
        if (!MobileNumber.TryNormalize(Input.Mobile, out var mobile))
        {
            ErrorMessage = text["Register_InvalidMobile"];
            return Page();
        }

        // The password is checked before the code is spent, so that a refused password does not need a new SMS.
        IReadOnlyList<string> problems = Input.Password != Input.ConfirmPassword
            ? [text["Register_PasswordMismatch"].Value]
            : await registration.PasswordProblemsAsync(Input.Password ?? "");
        if (problems.Count > 0)
        {
            ErrorMessage = string.Join(" ", problems);
            return Page();
        }

        var proof = await sms.VerifyAsync(Input.ChallengeId, mobile, Purpose, Input.Code, HttpContext.RequestAborted);
        if (proof != SmsChallengeResult.Proved)
        {
            ErrorMessage = text["Register_Code_" + proof];
            return Page();
        }

        var (result, user) = await registration.CreateAsync(mobile, Input.Password!, Input.DisplayName);
        if (result != RegistrationResult.Created || user is null)
        {
            MobileTaken = result == RegistrationResult.MobileTaken;
            ErrorMessage = MobileTaken ? text["Register_MobileTaken"] : string.Join(" ", registration.Errors);
            return Page();
        }

        // Signed in at once: the SMS code proved the number (RFC 8176 "sms") and the password was just set.
        var session = new SessionFacts(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
            DateTimeOffset.UtcNow, ["sms"]);
        await signInManager.SignInWithClaimsAsync(user, new AuthenticationProperties(), session.ToClaims());
        var next = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : null;
        return LocalRedirect("/Account/Verify" + QueryString.Create("ReturnUrl", next ?? "/"));
    }
}
