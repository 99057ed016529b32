using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>A client's settings, status and deletion.</summary>
public sealed class EditModel(ClientQueries queries, ClientRegistry clients, IOptionsMonitor<OpenIddictServerOptions> server, IOptions<OidcOptions> oidc)
    : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    [BindProperty]
    public ClientInput Input { get; set; } = new();

    public ClientResponse Client { get; private set; } = null!;

    public IReadOnlyList<DepartmentResponse> Departments { get; private set; } = [];

    public SigningChoices Signing => SigningChoices.Of(server.CurrentValue, oidc.Value);

    public async Task<IActionResult> OnGetAsync()
    {
        var found = await LoadAsync();
        if (found is not null)
        {
            return found;
        }

        Input = ClientInput.From(Client);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync()
    {
        // An update replaces every setting, and the form shows neither the client's JWKS (private_key_jwt) nor its ID token
        // lifetime: the save keeps what is stored for them instead of clearing them.
        var stored = await queries.GetAsync(Actor, Id, HttpContext.RequestAborted);
        if (!stored.IsOk)
        {
            return NotFoundOrDenied(stored);
        }

        var request = Input.ToRequest() with
        {
            DepartmentCode = null,
            Jwks = stored.Value!.Jwks,
            Lifetimes = new TokenLifetimes(Input.AccessTokenSeconds, stored.Value.Lifetimes.IdentityTokenSeconds, Input.RefreshTokenSeconds),
        };
        var result = await clients.UpdateAsync(Actor, Id, request, HttpContext.RequestAborted);
        Notice = Succeeded(result) ? "✓" : null;
        return await LoadAsync() ?? Page();
    }

    public Task<IActionResult> OnPostDisableAsync() => StatusAsync(ClientStatus.Disabled);

    public Task<IActionResult> OnPostEnableAsync() => StatusAsync(ClientStatus.Active);

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        var result = await clients.DeleteAsync(Actor, Id, HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            return RedirectToPage("/Admin/Clients/Index");
        }

        return await LoadAsync() ?? Page();
    }

    private async Task<IActionResult> StatusAsync(ClientStatus status)
    {
        var result = await clients.SetStatusAsync(Actor, Id, status, HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            return RedirectToPage(new { id = Id });
        }

        return await LoadAsync() ?? Page();
    }

    /// <summary>Null when the client was loaded; otherwise the answer (not found, or no access).</summary>
    private async Task<IActionResult?> LoadAsync()
    {
        var result = await queries.GetAsync(Actor, Id, HttpContext.RequestAborted);
        if (!result.IsOk)
        {
            return NotFoundOrDenied(result);
        }

        Client = result.Value!;
        Departments = [new DepartmentResponse(Client.DepartmentCode!, Client.DepartmentCode!, null, null, "active", "", false, default, default)];
        if (string.IsNullOrEmpty(Input.ClientId))
        {
            Input = ClientInput.From(Client);
        }

        return null;
    }
}
