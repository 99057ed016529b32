using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Hall;

/// <summary>
/// The service-hall counter (role service-hall-clerk): the clerk finds the citizen's account by mobile number,
/// reads the ID card's chip, compares the face, and records an in-person verification at L4 with the clerk's name.
/// </summary>
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    AccountLookup accounts,
    RealNameService realNames,
    PersonVerification verification,
    IStringLocalizer<SharedResource> text) : PageModel
{
    [BindProperty]
    public string? Mobile { get; set; }

    [BindProperty]
    public string? CitizenId { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? IdNumber { get; set; }

    [BindProperty]
    public bool ChipAndFaceChecked { get; set; }

    public ApplicationUser? Citizen { get; private set; }

    public RealNameRecord? Identity { get; private set; }

    public string? Message { get; private set; }

    public bool Done { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostFindAsync()
    {
        var citizen = MobileNumber.TryNormalize(Mobile, out _) ? await accounts.FindBySignInNameAsync(Mobile!, HttpContext.RequestAborted) : null;
        if (citizen is null)
        {
            Message = text["Hall_NotFound"];
            return Page();
        }

        await ShowAsync(citizen);
        return Page();
    }

    public async Task<IActionResult> OnPostVerifyAsync()
    {
        var clerk = await users.GetUserAsync(User);
        var citizen = CitizenId is null ? null : await users.FindByIdAsync(CitizenId);
        if (clerk is null || citizen is null)
        {
            Message = text["Hall_NotFound"];
            return Page();
        }

        if (!ChipAndFaceChecked)
        {
            Message = text["Hall_ChipRequired"];
            await ShowAsync(citizen);
            return Page();
        }

        var outcome = await verification.VerifyInPersonAsync(clerk, citizen, Name, IdNumber, HttpContext.RequestAborted);
        Done = outcome.Status == PersonVerificationStatus.Verified;
        Message = Done ? text["Hall_Done", AssuranceLevels.Name(outcome.Level)]
            : outcome.Status == PersonVerificationStatus.InvalidIdNumber ? text["Verify_IdProblem_" + outcome.Problem]
            : text["Verify_" + outcome.Status];
        await ShowAsync((await users.FindByIdAsync(citizen.Id))!);
        return Page();
    }

    private async Task ShowAsync(ApplicationUser citizen)
    {
        Citizen = citizen;
        CitizenId = citizen.Id;
        Identity = await realNames.FindAsync(citizen.Id, HttpContext.RequestAborted);
    }
}
