using System.Diagnostics;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Error;

/// <summary>
/// The friendly error page: protocol errors that cannot be sent back to the application (unknown
/// client, unregistered redirect_uri: RFC 6749 section 4.1.2.1 forbids redirecting those), missing
/// pages and unexpected failures. It never shows a stack trace.
/// </summary>
[IgnoreAntiforgeryToken]
public sealed class IndexModel(IStringLocalizer<SharedResource> text) : PageModel
{
    public string Message { get; private set; } = "";

    public string? ProtocolError { get; private set; }

    public string? ProtocolErrorDescription { get; private set; }

    public string? RequestId { get; private set; }

    public void OnGet(int? status) => Describe(status);

    public void OnPost(int? status) => Describe(status);

    private void Describe(int? status)
    {
        var response = HttpContext.GetOpenIddictServerResponse();
        if (response is not null && !string.IsNullOrEmpty(response.Error))
        {
            ProtocolError = response.Error;
            ProtocolErrorDescription = response.ErrorDescription;
            Message = text["Error_Protocol"];
            return;
        }

        Message = status switch
        {
            404 => text["Error_NotFound"],
            429 => text["Error_TooManyRequests"],
            _ => text["Error_Generic"],
        };
        RequestId = Activity.Current?.Id ?? HttpContext.TraceIdentifier;
    }
}
