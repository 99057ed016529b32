using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>Registers a client; a confidential client's secret is shown here once.</summary>
public sealed class RegisterModel(ClientRegistry clients, DepartmentRegistry departments, IOptionsMonitor<OpenIddictServerOptions> server,
    IOptions<OidcOptions> oidc) : ConsolePageModel
{
    [BindProperty]
    public ClientInput Input { get; set; } = new();

    public IReadOnlyList<DepartmentResponse> Departments { get; private set; } = [];

    public ClientRegistrationResponse? Created { get; private set; }

    public SigningChoices Signing => SigningChoices.Of(server.CurrentValue, oidc.Value);

    public async Task OnGetAsync()
    {
        Input.DepartmentCode = Actor.DepartmentCode;
        Input.RedirectUris = "https://";
        await LoadAsync();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        // A department administrator's department is not theirs to choose.
        Input.DepartmentCode = Actor.IsPlatform ? Input.DepartmentCode : Actor.DepartmentCode;
        if (Input.Kind == "machine")
        {
            Input.RedirectUris = null;
        }

        var result = await clients.RegisterAsync(Actor, Input.ToRequest(), HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            Created = result.Value;
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync() =>
        Departments = (await departments.ListAsync(Actor, new DepartmentQuery("active", null, new PageRequest(1, 200)), HttpContext.RequestAborted)).Items;
}
