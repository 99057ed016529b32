using System.Text.RegularExpressions;
using IdentityHub.Server.Api;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>Body of POST /api/admin/departments.</summary>
public sealed record DepartmentRequest(string? Code, string? Name, string? NameEn);

public sealed record DepartmentResponse(string Code, string Name, string? NameEn, string Status);

public sealed partial class DepartmentRegistry(IdentityHubDbContext db)
{
    public static void Validate(DepartmentRequest request, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(request.Code) || !CodePattern().IsMatch(request.Code))
        {
            errors.Add("code", $"Required: 2 to {Department.CodeMaxLength} characters of a-z, 0-9 or '-', starting with a letter.");
        }

        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200)
        {
            errors.Add("name", "Required, at most 200 characters.");
        }

        if (request.NameEn is { Length: > 200 })
        {
            errors.Add("nameEn", "At most 200 characters.");
        }
    }

    /// <summary>Returns null when the code is taken.</summary>
    public async Task<Department?> CreateAsync(DepartmentRequest request, CancellationToken cancellationToken)
    {
        if (await db.Departments.AnyAsync(d => d.Code == request.Code, cancellationToken))
        {
            return null;
        }

        var department = new Department { Code = request.Code!, Name = request.Name!.Trim(), NameEn = request.NameEn?.Trim() };
        db.Departments.Add(department);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The unique index on Code caught a concurrent insert.
            db.Entry(department).State = EntityState.Detached;
            return null;
        }

        return department;
    }

    /// <summary>Creates the department if absent (seed data, configuration import).</summary>
    public async Task<Department> EnsureAsync(string code, string name, string? nameEn, CancellationToken cancellationToken)
    {
        var existing = await db.Departments.SingleOrDefaultAsync(d => d.Code == code, cancellationToken);
        if (existing is not null)
        {
            return existing;
        }

        var department = new Department { Code = code, Name = name, NameEn = nameEn };
        db.Departments.Add(department);
        await db.SaveChangesAsync(cancellationToken);
        return department;
    }

    public static DepartmentResponse ToResponse(Department d) => new(d.Code, d.Name, d.NameEn, d.Status.ToString());

    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();
}
