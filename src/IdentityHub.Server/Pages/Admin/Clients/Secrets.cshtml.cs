using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>A client's secrets: rotate (the new one is shown once, the old ones keep working) and revoke.</summary>
public sealed class SecretsModel(ClientSecretService secrets, ClientQueries queries) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public string? DepartmentCode { get; private set; }

    public IReadOnlyList<SecretResponse> Secrets { get; private set; } = [];

    public NewSecretResponse? NewSecret { get; private set; }

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ?? Page();

    public async Task<IActionResult> OnPostRotateAsync(int? expiresInDays)
    {
        var result = await secrets.RotateAsync(Actor, Id, new RotateSecretRequest(expiresInDays), HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            NewSecret = result.Value;
        }

        return await LoadAsync() ?? Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string secretId)
    {
        var result = await secrets.RevokeAsync(Actor, Id, secretId, HttpContext.RequestAborted);
        Notice = Succeeded(result) ? "✓" : null;
        return await LoadAsync() ?? Page();
    }

    private async Task<IActionResult?> LoadAsync()
    {
        var client = await queries.GetAsync(Actor, Id, HttpContext.RequestAborted);
        var list = await secrets.ListAsync(Actor, Id, HttpContext.RequestAborted);
        if (!client.IsOk || !list.IsOk)
        {
            return NotFoundOrDenied(client.IsOk ? list.As<ClientResponse>() : client);
        }

        DepartmentCode = client.Value!.DepartmentCode;
        Secrets = list.Value!;
        return null;
    }
}
