using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityHub.Server.Pages.Account;

/// <summary>Small helpers every account page shares.</summary>
public static class AccountPages
{
    /// <summary>The page again, with 429 and Retry-After (RFC 6585 section 4), for a limit the page itself enforces.</summary>
    public static IActionResult TooManyRequests(this PageModel page, TimeSpan retryAfter)
    {
        page.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        page.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return page.Page();
    }

    /// <summary>The return URL if it is local (no open redirect, RFC 9700 section 4.11), else the home page.</summary>
    public static string LocalOrHome(this PageModel page, string? returnUrl) =>
        page.Url.IsLocalUrl(returnUrl) ? returnUrl! : "/";

    /// <summary>Whole seconds, rounded up, for "try again in N seconds".</summary>
    public static int Seconds(TimeSpan span) => Math.Max(1, (int)Math.Ceiling(span.TotalSeconds));
}
