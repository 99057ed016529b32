using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Account.Verify;

/// <summary>
/// Real-name verification (name + ID number, L2), and the step-up page: an authorize request whose client
/// (or acr_values) needs a higher level than the person has sends them here with ?required=N; once the level
/// is reached they return to the app, or they decline and the app gets unmet_authentication_requirements.
/// The ID number is sensitive personal information (PIPL article 28): separate consent, shown masked only.
/// </summary>
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    RealNameService realNames,
    PersonVerification verification,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true)]
    public int? Required { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? IdNumber { get; set; }

    [BindProperty]
    public bool Consent { get; set; }

    public int Level { get; private set; }

    public RealNameRecord? Identity { get; private set; }

    public string? ErrorMessage { get; private set; }

    public bool HeldByAnotherAccount { get; private set; }

    public string? SuccessMessage { get; private set; }

    /// <summary>The authorize request to return to (local, /connect/authorize only).</summary>
    public string? AppReturnUrl => ReturnUrl is not null && Url.IsLocalUrl(ReturnUrl) && ReturnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal)
        ? ReturnUrl
        : null;

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() is null ? Challenge() : Page();

    public async Task<IActionResult> OnPostVerifyAsync()
    {
        if (await LoadAsync() is not { } user)
        {
            return Challenge();
        }

        if (!Consent)
        {
            ErrorMessage = text["Verify_ConsentRequired"];
            return Page();
        }

        var outcome = await verification.VerifyOnlineAsync(user, Name, IdNumber, HttpContext.RequestAborted);
        if (outcome.Status != PersonVerificationStatus.Verified)
        {
            HeldByAnotherAccount = outcome.Status == PersonVerificationStatus.HeldByAnotherAccount;
            ErrorMessage = outcome.Status == PersonVerificationStatus.InvalidIdNumber
                ? text["Verify_IdProblem_" + outcome.Problem]
                : text["Verify_" + outcome.Status];
            return Page();
        }

        await LoadAsync();
        if (AppReturnUrl is { } back && Level >= (Required ?? 1))
        {
            return LocalRedirect(back);
        }

        SuccessMessage = text["Verify_Done", AssuranceLevels.Name(Level)];
        return Page();
    }

    /// <summary>The person does not verify now: the app receives unmet_authentication_requirements.</summary>
    public IActionResult OnPostDecline() =>
        AppReturnUrl is { } back ? LocalRedirect(back + "&" + AuthorizeEndpoint.StepUpParameter + "=declined") : LocalRedirect("/");

    private async Task<ApplicationUser?> LoadAsync()
    {
        var user = await users.GetUserAsync(User);
        if (user is null)
        {
            return null;
        }

        Level = AssuranceLevels.Of(user);
        Identity = await realNames.FindAsync(user.Id, HttpContext.RequestAborted);
        return user;
    }
}
