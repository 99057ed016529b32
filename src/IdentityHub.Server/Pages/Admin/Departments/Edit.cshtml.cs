using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Admin.Departments;

/// <summary>A department: names, contact, status (suspend) and claim ceiling. Only platform administrators change it.</summary>
public sealed class EditModel(DepartmentRegistry departments) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string Code { get; set; } = "";

    [BindProperty]
    public DepartmentInput Input { get; set; } = new();

    [BindProperty]
    public bool AllowPublicSubject { get; set; }

    public DepartmentResponse Department { get; private set; } = null!;

    public CeilingResponse Ceiling { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync()
    {
        if (!await LoadAsync())
        {
            return RedirectToPage("/Admin/Denied");
        }

        Input = new DepartmentInput { Name = Department.Name, NameEn = Department.NameEn, Contact = Department.Contact, Status = Department.Status };
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync()
    {
        var result = await departments.UpdateAsync(Actor, Code, Input.ToRequest(), HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            Notice = "✓";
        }

        return await LoadAsync() ? Page() : RedirectToPage("/Admin/Denied");
    }

    public async Task<IActionResult> OnPostCeilingAsync([FromForm(Name = "Ceiling")] Dictionary<string, string> ceiling)
    {
        var result = await departments.SetCeilingAsync(Actor, Code, new CeilingRequest(ceiling, AllowPublicSubject), HttpContext.RequestAborted);
        if (Succeeded(result))
        {
            Notice = "✓";
        }

        if (!await LoadAsync())
        {
            return RedirectToPage("/Admin/Denied");
        }

        Input = new DepartmentInput { Name = Department.Name, NameEn = Department.NameEn, Contact = Department.Contact, Status = Department.Status };
        return Page();
    }

    private async Task<bool> LoadAsync()
    {
        var department = await departments.GetAsync(Actor, Code, HttpContext.RequestAborted);
        var ceiling = await departments.GetCeilingAsync(Actor, Code, HttpContext.RequestAborted);
        if (!department.IsOk || !ceiling.IsOk)
        {
            return false;
        }

        Department = department.Value!;
        Ceiling = ceiling.Value!;
        if (string.IsNullOrEmpty(Input.Name))
        {
            Input = new DepartmentInput { Name = Department.Name, NameEn = Department.NameEn, Contact = Department.Contact, Status = Department.Status };
        }

        return true;
    }
}
