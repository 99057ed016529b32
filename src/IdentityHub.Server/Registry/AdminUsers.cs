using IdentityHub.Server.Api;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>Body and answer of PUT /api/admin/users/{id}/roles.</summary>
public sealed record UserRolesRequest(string[]? Roles, string? DepartmentCode);

public sealed record UserRolesResponse(string UserId, string[] Roles, string? DepartmentCode);

/// <summary>Who administers the registry: platform administrators grant the roles, in one transaction with the audit event.</summary>
public sealed class AdminUsers(IdentityHubDbContext db, UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles, IAuditLog audit)
{
    /// <summary>Creates the registry's roles if absent (start-up).</summary>
    public async Task EnsureRolesAsync()
    {
        foreach (var role in AdminRoles.All)
        {
            if (!await roles.RoleExistsAsync(role))
            {
                await roles.CreateAsync(new IdentityRole(role));
            }
        }
    }

    public async Task<RegistryResult<UserRolesResponse>> SetRolesAsync(AdminActor actor, string userId, UserRolesRequest request,
        CancellationToken cancellationToken)
    {
        if (!actor.IsPlatform)
        {
            return RegistryResult<UserRolesResponse>.Forbidden(new(RegistryCodes.ForbidGrantRoles));
        }

        var wanted = request.Roles ?? [];
        var errors = new FieldErrors();
        foreach (var role in wanted.Where(r => !AdminRoles.All.Contains(r)))
        {
            errors.Add("roles", new(RegistryCodes.UnknownRole, role, string.Join(", ", AdminRoles.All)));
        }

        var departmentAdmin = wanted.Contains(AdminRoles.DepartmentAdministrator);
        if (departmentAdmin && !await db.Departments.AnyAsync(d => d.Code == request.DepartmentCode, cancellationToken))
        {
            errors.Add("departmentCode", new(RegistryCodes.DepartmentAdminNeedsDepartment));
        }

        if (errors.Any)
        {
            return RegistryResult<UserRolesResponse>.Invalid(errors);
        }

        var user = await users.FindByIdAsync(userId);
        if (user is null)
        {
            return RegistryResult<UserRolesResponse>.NotFound(new(RegistryCodes.UserNotFound, userId));
        }

        var before = await DescribeAsync(user);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var current = await users.GetRolesAsync(user);
        Check(await users.RemoveFromRolesAsync(user, current.Where(r => AdminRoles.All.Contains(r) && !wanted.Contains(r))));
        Check(await users.AddToRolesAsync(user, wanted.Distinct().Where(r => !current.Contains(r))));
        var claims = (await users.GetClaimsAsync(user)).Where(c => c.Type == AdminRoles.DepartmentClaim).ToList();
        if (claims.Count > 0)
        {
            Check(await users.RemoveClaimsAsync(user, claims));
        }

        if (departmentAdmin)
        {
            Check(await users.AddClaimAsync(user, new System.Security.Claims.Claim(AdminRoles.DepartmentClaim, request.DepartmentCode!)));
        }

        var after = await DescribeAsync(user);
        audit.Add(actor.Audit, new UserRolesChanged(userId, before, after));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return RegistryResult<UserRolesResponse>.Ok(after);
    }

    private async Task<UserRolesResponse> DescribeAsync(ApplicationUser user) => new(
        user.Id,
        (await users.GetRolesAsync(user)).Where(AdminRoles.All.Contains).Order().ToArray(),
        (await users.GetClaimsAsync(user)).FirstOrDefault(c => c.Type == AdminRoles.DepartmentClaim)?.Value);

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(string.Join("; ", result.Errors.Select(e => e.Description)));
        }
    }
}
