using System.Globalization;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Pages.Account.Consent;

/// <summary>
/// Explicit consent (OIDC Core section 3.1.2.4): which department app asks, and exactly which claims it
/// would receive under its policy (masked ones marked). Accept records the consent and resumes the
/// authorize request; decline resumes it too, and the client receives access_denied.
/// </summary>
public sealed class IndexModel(
    ClientPolicies policies,
    SubjectIdentifiers subjects,
    ConsentGate consent,
    IOpenIddictApplicationManager applications,
    UserManager<Identity.ApplicationUser> users) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string ClientName { get; private set; } = "";

    public string? DepartmentName { get; private set; }

    public List<(ReleasableClaim Claim, ReleaseMode Mode)> Claims { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var request = await LoadAsync();
        return request is null ? BadRequest() : Page();
    }

    public async Task<IActionResult> OnPostAsync(string? decision)
    {
        var request = await LoadAsync();
        if (request is null)
        {
            return BadRequest();
        }

        if (decision != "accept")
        {
            return LocalRedirect(ReturnUrl + "&" + ConsentGate.DeclinedParameter + "=declined");
        }

        var user = await users.GetUserAsync(User);
        if (user is null)
        {
            return Challenge();
        }

        var subject = await subjects.SubjectForAsync(user.Id, request.Value.Client, HttpContext.RequestAborted);
        await consent.GrantAsync(subject, request.Value.Client.ClientId, request.Value.Scopes, ReturnUrl!, HttpContext.RequestAborted);
        return LocalRedirect(ReturnUrl!);
    }

    /// <summary>The authorize request the consent is for, from the local ReturnUrl; null if it is not one.</summary>
    private async Task<(ClientPolicy Client, System.Collections.Immutable.ImmutableArray<string> Scopes)?> LoadAsync()
    {
        if (ReturnUrl is null || !Url.IsLocalUrl(ReturnUrl) || !ReturnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal))
        {
            return null;
        }

        var query = QueryHelpers.ParseQuery(ReturnUrl[ReturnUrl.IndexOf('?', StringComparison.Ordinal)..]);
        var client = await policies.FindAsync(query.TryGetValue("client_id", out var id) ? id.ToString() : null, HttpContext.RequestAborted);
        var application = client is null ? null : await applications.FindByClientIdAsync(client.ClientId, HttpContext.RequestAborted);
        if (client is null || application is null)
        {
            return null;
        }

        var scopes = new OpenIddictRequest { Scope = query.TryGetValue("scope", out var scope) ? scope.ToString() : "" }.GetScopes();
        ClientName = await applications.GetLocalizedDisplayNameAsync(application, CultureInfo.CurrentUICulture, HttpContext.RequestAborted) ?? client.ClientId;
        DepartmentName = client.DepartmentName;
        Claims = ClaimsFactory.Releasable(scopes, client.Claims).ToList();
        return (client, scopes);
    }
}
