using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Admin;

/// <summary>
/// Base of every console page: the signed-in person's registry role (read from the database on each
/// request), the same <see cref="AdminActor"/> the API uses, so the console and the API enforce one rule set.
/// </summary>
public abstract class ConsolePageModel : PageModel
{
    public AdminActor Actor { get; private set; } = null!;

    /// <summary>Validation or permission messages of the last operation, shown above the form.</summary>
    public List<string> Errors { get; } = [];

    public string? Notice { get; set; }

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var actor = await HttpContext.RequestServices.GetRequiredService<AdminActorResolver>().ResolveAsync(User);
        if (actor is null)
        {
            context.Result = RedirectToPage("/Admin/Denied");
            return;
        }

        Actor = actor;
        await next();
    }

    /// <summary>True when the operation succeeded; otherwise its messages are kept for the page, in the person's language.</summary>
    protected bool Succeeded<T>(RegistryResult<T> result)
    {
        if (result.IsOk)
        {
            return true;
        }

        var localizer = HttpContext.RequestServices.GetRequiredService<IStringLocalizer<SharedResource>>();
        Errors.AddRange(result.Messages().Select(m => ConsoleMessages.Render(localizer, m.Field, m.Message)));
        return false;
    }

    protected IActionResult NotFoundOrDenied<T>(RegistryResult<T> result) =>
        result.Outcome == RegistryOutcome.Forbidden ? RedirectToPage("/Admin/Denied") : NotFound();
}
