using System.Text.RegularExpressions;
using IdentityHub.Server.Api;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>Body of POST /api/admin/departments and PUT /api/admin/departments/{code} (code is ignored there).</summary>
public sealed record DepartmentRequest(string? Code, string? Name, string? NameEn, string? Contact = null, string? Status = null);

public sealed record DepartmentResponse(
    string Code, string Name, string? NameEn, string? Contact, string Status, string SectorId, bool AllowPublicSubject,
    DateTime CreatedAtUtc, DateTime UpdatedAtUtc);

/// <summary>Body and answer of /api/admin/departments/{code}/ceiling: the most a department's clients may receive.</summary>
public sealed record CeilingRequest(Dictionary<string, string>? Claims, bool? AllowPublicSubject);

public sealed record CeilingResponse(string Code, Dictionary<string, string> Claims, bool AllowPublicSubject);

public sealed record DepartmentQuery(string? Status, string? Search, PageRequest Page);

/// <summary>Departments: only platform administrators change them; everyone with a role reads what they may see.</summary>
public sealed partial class DepartmentRegistry(IdentityHubDbContext db, IAuditLog audit, TimeProvider clock, IssuedGrants grants)
{
    public static void Validate(DepartmentRequest request, FieldErrors errors, bool creating = true)
    {
        if (creating && (string.IsNullOrWhiteSpace(request.Code) || !CodePattern().IsMatch(request.Code)))
        {
            errors.Add("code", new(RegistryCodes.DepartmentCodeFormat, Department.CodeMaxLength));
        }

        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200)
        {
            errors.Add("name", new(RegistryCodes.RequiredMax, 200));
        }

        if (request.NameEn is { Length: > 200 })
        {
            errors.Add("nameEn", new(RegistryCodes.MaxLength, 200));
        }

        if (request.Contact is { Length: > 200 })
        {
            errors.Add("contact", new(RegistryCodes.MaxLength, 200));
        }

        if (request.Status is not null && ParseStatus(request.Status) is null)
        {
            errors.Add("status", new(RegistryCodes.DepartmentStatusValues));
        }
    }

    public async Task<Paged<DepartmentResponse>> ListAsync(AdminActor actor, DepartmentQuery query, CancellationToken cancellationToken)
    {
        var departments = db.Departments.AsNoTracking();
        if (!actor.CanRead(null))
        {
            departments = departments.Where(d => d.Code == actor.DepartmentCode);
        }

        if (Enum.TryParse<DepartmentStatus>(query.Status, ignoreCase: true, out var status))
        {
            departments = departments.Where(d => d.Status == status);
        }

        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim();
            departments = departments.Where(d => d.Code.Contains(term) || d.Name.Contains(term) || (d.NameEn != null && d.NameEn.Contains(term)));
        }

        var total = await departments.CountAsync(cancellationToken);
        var page = await departments.OrderBy(d => d.Code).Skip(query.Page.Skip).Take(query.Page.SafePageSize).ToListAsync(cancellationToken);
        return new Paged<DepartmentResponse>(page.Select(ToResponse).ToList(), total, query.Page.SafePage, query.Page.SafePageSize);
    }

    public async Task<RegistryResult<DepartmentResponse>> GetAsync(AdminActor actor, string code, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: false, cancellationToken);
        return failure?.As<DepartmentResponse>() ?? RegistryResult<DepartmentResponse>.Ok(ToResponse(department!));
    }

    public async Task<RegistryResult<DepartmentResponse>> CreateAsync(AdminActor actor, DepartmentRequest request, CancellationToken cancellationToken)
    {
        if (!actor.IsPlatform)
        {
            return RegistryResult<DepartmentResponse>.Forbidden(new(RegistryCodes.ForbidCreateDepartment));
        }

        var errors = new FieldErrors();
        Validate(request, errors);
        if (errors.Any)
        {
            return RegistryResult<DepartmentResponse>.Invalid(errors);
        }

        if (await db.Departments.AnyAsync(d => d.Code == request.Code, cancellationToken))
        {
            return RegistryResult<DepartmentResponse>.Conflict("code", new(RegistryCodes.DepartmentExists, request.Code));
        }

        var department = new Department
        {
            Code = request.Code!,
            Name = request.Name!.Trim(),
            NameEn = request.NameEn?.Trim(),
            Contact = request.Contact?.Trim(),
            Status = ParseStatus(request.Status) ?? DepartmentStatus.Active,
        };
        db.Departments.Add(department);
        audit.Add(actor.Audit, new DepartmentChanged(RegistryChange.Created, department.Code, null, ToResponse(department)));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The unique index on Code caught a concurrent insert; the audit event goes with it.
            db.ChangeTracker.Clear();
            return RegistryResult<DepartmentResponse>.Conflict("code", new(RegistryCodes.DepartmentExists, request.Code));
        }

        return RegistryResult<DepartmentResponse>.Ok(ToResponse(department));
    }

    public async Task<RegistryResult<DepartmentResponse>> UpdateAsync(AdminActor actor, string code, DepartmentRequest request, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: true, cancellationToken);
        if (failure is not null)
        {
            return failure.As<DepartmentResponse>();
        }

        var errors = new FieldErrors();
        Validate(request, errors, creating: false);
        if (errors.Any)
        {
            return RegistryResult<DepartmentResponse>.Invalid(errors);
        }

        var before = ToResponse(department!);
        var statusBefore = department!.Status;
        department.Name = request.Name!.Trim();
        department.NameEn = request.NameEn?.Trim();
        department.Contact = request.Contact?.Trim();
        department.Status = ParseStatus(request.Status) ?? department.Status;
        return await SaveAsync(actor, department, before, statusBefore == department.Status ? RegistryChange.Updated : StatusChange(department.Status), cancellationToken);
    }

    public async Task<RegistryResult<DepartmentResponse>> SetStatusAsync(AdminActor actor, string code, DepartmentStatus status, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: true, cancellationToken);
        if (failure is not null)
        {
            return failure.As<DepartmentResponse>();
        }

        var before = ToResponse(department!);
        department!.Status = status;
        return await SaveAsync(actor, department, before, StatusChange(status), cancellationToken);
    }

    public async Task<RegistryResult<DepartmentResponse>> DeleteAsync(AdminActor actor, string code, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: true, cancellationToken);
        if (failure is not null)
        {
            return failure.As<DepartmentResponse>();
        }

        if (await db.Set<HubApplication>().AnyAsync(a => a.DepartmentId == department!.Id, cancellationToken))
        {
            return RegistryResult<DepartmentResponse>.Conflict("code", new(RegistryCodes.DepartmentHasClients, code));
        }

        var before = ToResponse(department!);
        db.Departments.Remove(department!);
        audit.Add(actor.Audit, new DepartmentChanged(RegistryChange.Deleted, code, before, null));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<DepartmentResponse>.Ok(before);
    }

    public async Task<RegistryResult<CeilingResponse>> GetCeilingAsync(AdminActor actor, string code, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: false, cancellationToken);
        return failure?.As<CeilingResponse>() ?? RegistryResult<CeilingResponse>.Ok(ToCeiling(department!));
    }

    /// <summary>Only a platform administrator sets a ceiling: it is what the city grants the department.</summary>
    public async Task<RegistryResult<CeilingResponse>> SetCeilingAsync(AdminActor actor, string code, CeilingRequest request, CancellationToken cancellationToken)
    {
        var (department, failure) = await FindAsync(actor, code, write: true, cancellationToken);
        if (failure is not null)
        {
            return failure.As<CeilingResponse>();
        }

        var errors = new FieldErrors();
        var ceiling = ClaimReleasePolicy.Parse(request.Claims, "claims", errors);
        if (ceiling is null)
        {
            return RegistryResult<CeilingResponse>.Invalid(errors);
        }

        var before = ToCeiling(department!);
        department!.ClaimCeiling = ceiling.ToJson();
        department.AllowPublicSubject = request.AllowPublicSubject ?? department.AllowPublicSubject;
        department.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        var after = ToCeiling(department);
        audit.Add(actor.Audit, new DepartmentCeilingChanged(code, before, after));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<CeilingResponse>.Ok(after);
    }

    /// <summary>Creates the department if absent (seed data); an existing one is left as administrators made it.</summary>
    public async Task<Department> EnsureAsync(string code, string name, string? nameEn, CancellationToken cancellationToken, string? contact = null)
    {
        var existing = await db.Departments.SingleOrDefaultAsync(d => d.Code == code, cancellationToken);
        if (existing is not null)
        {
            return existing;
        }

        var department = new Department { Code = code, Name = name, NameEn = nameEn, Contact = contact };
        db.Departments.Add(department);
        audit.Add(AuditActor.System("seed"), new DepartmentChanged(RegistryChange.Created, code, null, ToResponse(department)));
        await db.SaveChangesAsync(cancellationToken);
        return department;
    }

    public static DepartmentResponse ToResponse(Department d) =>
        new(d.Code, d.Name, d.NameEn, d.Contact, d.Status.ToString().ToLowerInvariant(), d.EffectiveSectorId, d.AllowPublicSubject, d.CreatedAtUtc, d.UpdatedAtUtc);

    public static CeilingResponse ToCeiling(Department d) =>
        new(d.Code, ClaimReleasePolicy.FromJson(d.ClaimCeiling).ToDictionary(), d.AllowPublicSubject);

    private async Task<(Department? Department, RegistryResult<Department>? Failure)> FindAsync(
        AdminActor actor, string code, bool write, CancellationToken cancellationToken)
    {
        var department = await db.Departments.SingleOrDefaultAsync(d => d.Code == code, cancellationToken);
        if (department is null)
        {
            return (null, RegistryResult<Department>.NotFound(new(RegistryCodes.DepartmentNotFound, code)));
        }

        if (write ? !actor.IsPlatform : !actor.CanRead(code))
        {
            return (null, RegistryResult<Department>.Forbidden(write
                ? new(RegistryCodes.ForbidChangeDepartment)
                : new(RegistryCodes.ForbidReadOtherDepartment)));
        }

        return (department, null);
    }

    private async Task<RegistryResult<DepartmentResponse>> SaveAsync(AdminActor actor, Department department, DepartmentResponse before,
        RegistryChange change, CancellationToken cancellationToken)
    {
        department.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        var after = ToResponse(department);
        audit.Add(actor.Audit, new DepartmentChanged(change, department.Code, before, after));
        await db.SaveChangesAsync(cancellationToken);
        if (change == RegistryChange.Suspended)
        {
            // After the status is stored: from then on RejectInactiveClients refuses every code and token
            // request, and this revokes what was issued before. Suspending again revokes again (a retry after
            // a failure here is safe).
            var applicationIds = await db.Set<HubApplication>().AsNoTracking().Where(a => a.DepartmentId == department.Id)
                .Select(a => a.Id!).ToListAsync(cancellationToken);
            await grants.RevokeAsync(applicationIds, $"Department {department.Code} suspended", cancellationToken);
        }

        return RegistryResult<DepartmentResponse>.Ok(after);
    }

    private static RegistryChange StatusChange(DepartmentStatus status) =>
        status == DepartmentStatus.Suspended ? RegistryChange.Suspended : RegistryChange.Activated;

    private static DepartmentStatus? ParseStatus(string? status) => status?.ToLowerInvariant() switch
    {
        "active" => DepartmentStatus.Active,
        "suspended" => DepartmentStatus.Suspended,
        _ => null,
    };

    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();
}
