using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Pages.Account.History;

/// <summary>
/// The signed-in person's own history: sign-ins (time, IP, device), the department apps used, and which of
/// their claims each app received, when. "This wasn't me" on a sign-in ends every SSO session of the account
/// (each app told by back-channel logout, the sessions' refresh and access tokens revoked: issue 6), renews the
/// security stamp (a cookie issued meanwhile is refused at its next check), records an alert, and signs this
/// browser out.
/// </summary>
public sealed class IndexModel(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signInManager,
    CitizenHistory history,
    IAuditLog audit,
    SessionService sessions,
    IOptions<AuditOptions> options) : PageModel
{
    private const int PageSize = 20;

    public IReadOnlyList<HistorySignIn> SignIns { get; private set; } = [];

    public string? NextCursor { get; private set; }

    public IReadOnlyList<HistoryApp> Apps { get; private set; } = [];

    public IReadOnlyList<HistoryRelease> Releases { get; private set; } = [];

    public bool Reported { get; private set; }

    public TimeSpan Offset => options.Value.StatisticsUtcOffset;

    public string Local(DateTime utc) => (utc + Offset).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<IActionResult> OnGetAsync(string? cursor)
    {
        var userId = users.GetUserId(User);
        if (userId is null)
        {
            return Challenge();
        }

        (SignIns, NextCursor) = await history.SignInsAsync(userId, cursor, PageSize, HttpContext.RequestAborted);
        Apps = await history.AppsAsync(userId, HttpContext.RequestAborted);
        Releases = await history.ReleasesAsync(userId, 50, HttpContext.RequestAborted);
        return Page();
    }

    public async Task<IActionResult> OnPostNotMeAsync(long eventId)
    {
        var user = await users.GetUserAsync(User);
        if (user is null)
        {
            return Challenge();
        }

        // Only one's own events: another person's id is answered like an unknown one.
        if (!await history.IsOwnAsync(user.Id, eventId, HttpContext.RequestAborted))
        {
            return NotFound();
        }

        // Every session first: each one's end, notices and revocations are one step of SessionService, audited
        // (session.ended, reason citizen). Then the alert and the new security stamp, saved by the same SaveChanges.
        var actor = AuditActor.User(user.Id, user.UserName);
        var ended = await sessions.EndAllAsync(user.Id, SessionEndReason.Citizen, actor, HttpContext.RequestAborted);
        audit.Add(actor, new NotMeReported(user.Id, eventId, ended));
        var result = await users.UpdateSecurityStampAsync(user);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException("The security stamp was not renewed: " + string.Join("; ", result.Errors.Select(e => e.Description)));
        }

        await signInManager.SignOutAsync();
        Reported = true;
        return Page();
    }
}
