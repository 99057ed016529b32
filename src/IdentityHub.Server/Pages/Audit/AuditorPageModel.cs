using IdentityHub.Server.Audit;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Pages.Audit;

/// <summary>
/// Base of the auditor screens: only the auditor role (read from the database on each request, as in the
/// registry console); anyone else is sent to the console's "no access" page. Times show in Audit:StatisticsUtcOffset.
/// </summary>
public abstract class AuditorPageModel : PageModel
{
    public AdminActor Actor { get; private set; } = null!;

    public TimeSpan Offset { get; private set; }

    public string OffsetText => (Offset < TimeSpan.Zero ? "-" : "+") + Offset.ToString(@"hh\:mm");

    public string Local(DateTime utc) => (utc + Offset).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var actor = await HttpContext.RequestServices.GetRequiredService<AdminActorResolver>().ResolveAsync(User);
        if (actor is not { Role: AdminRole.Auditor })
        {
            context.Result = RedirectToPage("/Admin/Denied");
            return;
        }

        Actor = actor;
        Offset = HttpContext.RequestServices.GetRequiredService<IOptions<AuditOptions>>().Value.StatisticsUtcOffset;
        await next();
    }
}
