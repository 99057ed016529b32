using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>A client's claim release policy (within the department's ceiling), minimum assurance level and multi-factor requirement.</summary>
public sealed class PolicyModel(ClaimPolicyService policies, ClientQueries queries) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public string? DepartmentCode { get; private set; }

    public ClaimPolicyResponse Policy { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ?? Page();

    public async Task<IActionResult> OnPostAsync([FromForm] Dictionary<string, string> claims, [FromForm] int? minimumAssuranceLevel,
        [FromForm] bool? requireMultiFactor)
    {
        var result = await policies.SetAsync(Actor, Id, new ClaimPolicyRequest(claims, minimumAssuranceLevel, requireMultiFactor), HttpContext.RequestAborted);
        Notice = Succeeded(result) ? "✓" : null;
        return await LoadAsync() ?? Page();
    }

    private async Task<IActionResult?> LoadAsync()
    {
        var client = await queries.GetAsync(Actor, Id, HttpContext.RequestAborted);
        var policy = await policies.GetAsync(Actor, Id, HttpContext.RequestAborted);
        if (!client.IsOk || !policy.IsOk)
        {
            return NotFoundOrDenied(client.IsOk ? policy.As<ClientResponse>() : client);
        }

        DepartmentCode = client.Value!.DepartmentCode;
        Policy = policy.Value!;
        return null;
    }
}
