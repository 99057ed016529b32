using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Pages.Account.Manage;

/// <summary>The security message centre: the newest 50 messages; opening the page marks them read.</summary>
public sealed class MessagesModel(
    UserManager<ApplicationUser> users,
    IdentityHubDbContext db,
    SecurityEvents events,
    TimeProvider clock) : ManagePage(users)
{
    public sealed record Row(SecurityMessageKind Kind, string Text, DateTime CreatedAtUtc, bool Unread);

    public IReadOnlyList<Row> Messages { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var user = await CurrentUserAsync();
        var messages = await db.Set<SecurityMessage>().AsNoTracking()
            .Where(m => m.UserId == user.Id)
            .OrderByDescending(m => m.Id)
            .Take(50)
            .ToListAsync(HttpContext.RequestAborted);
        Messages = messages.Select(m => new Row(m.Kind, events.Describe(m.Kind, m.Detail), m.CreatedAtUtc, m.ReadAtUtc is null)).ToList();

        var now = clock.GetUtcNow().UtcDateTime;
        await db.Set<SecurityMessage>().Where(m => m.UserId == user.Id && m.ReadAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.ReadAtUtc, now), HttpContext.RequestAborted);
    }
}
