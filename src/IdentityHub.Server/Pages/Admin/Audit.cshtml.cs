using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Pages.Admin;

/// <summary>The latest 200 registry audit events the person may see.</summary>
public sealed class AuditModel(AuditQueries audit) : ConsolePageModel
{
    public IReadOnlyList<AuditEventView> Events { get; private set; } = [];

    public int Total { get; private set; }

    public async Task OnGetAsync() =>
        (Events, Total) = await audit.ListAsync(Actor.CanRead(null) ? null : Actor.DepartmentCode, null, null, 0, 200, HttpContext.RequestAborted);
}
