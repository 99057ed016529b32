using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityHub.Server.Pages.Account.SignedOut;

/// <summary>
/// OpenID Connect Front-Channel Logout 1.0 section 3: the session has ended; each app that registered a
/// front-channel logout URI is loaded in a hidden iframe (with iss and sid), then the browser goes on to
/// <see cref="Next"/> (the logout endpoint again, or the signed-out page).
/// </summary>
public sealed class IndexModel(FrontChannelLogout frontChannel) : PageModel
{
    public IReadOnlyList<string> Frames { get; private set; } = [];

    public string Next { get; private set; } = "/Account/Logout?signedOut=true";

    public async Task<IActionResult> OnGetAsync(string? n)
    {
        var read = await frontChannel.ReadAsync(n, HttpContext.RequestAborted);
        if (read is null)
        {
            // Expired or forged: nothing to load; the person is signed out anyway.
            return LocalRedirect(Next);
        }

        Frames = read.Value.Frames;
        Next = Url.IsLocalUrl(read.Value.Next) ? read.Value.Next : Next;
        // The frames' URIs come from the registry; the page itself must not be cached or framed.
        Response.Headers.CacheControl = "no-store";
        Response.Headers.XFrameOptions = "DENY";
        return Page();
    }
}
