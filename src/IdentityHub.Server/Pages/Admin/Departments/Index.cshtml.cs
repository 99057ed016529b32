using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Admin.Departments;

public sealed class IndexModel(DepartmentRegistry departments) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty]
    public DepartmentInput Input { get; set; } = new();

    public Paged<DepartmentResponse> Results { get; private set; } = new([], 0, 1, 50);

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        var result = await departments.CreateAsync(Actor, Input.ToRequest(), HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            return RedirectToPage("/Admin/Departments/Edit", new { code = result.Value!.Code });
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync() =>
        Results = await departments.ListAsync(Actor, new DepartmentQuery(Status, Q, new PageRequest(1, 200)), HttpContext.RequestAborted);
}

public sealed class DepartmentInput
{
    public string? Code { get; set; }

    public string? Name { get; set; }

    public string? NameEn { get; set; }

    public string? Contact { get; set; }

    public string? Status { get; set; }

    public DepartmentRequest ToRequest() => new(Code?.Trim(), Name, NameEn, Contact, Status);
}
