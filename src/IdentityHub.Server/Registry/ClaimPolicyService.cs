using IdentityHub.Server.Api;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>Body and answer of /api/admin/clients/{clientId}/claim-policy.</summary>
public sealed record ClaimPolicyRequest(Dictionary<string, string>? Claims, int? MinimumAssuranceLevel, bool? RequireMultiFactor = null);

/// <summary><c>claims</c> is the client's policy; <c>effective</c> is what it receives today, capped by the department's ceiling.</summary>
public sealed record ClaimPolicyResponse(string ClientId, Dictionary<string, string> Claims, Dictionary<string, string> Effective,
    Dictionary<string, string> Ceiling, int MinimumAssuranceLevel, bool RequireMultiFactor);

public sealed class ClaimPolicyService(IdentityHubDbContext db, ClientRegistry clients, IAuditLog audit, TimeProvider clock)
{
    public async Task<RegistryResult<ClaimPolicyResponse>> GetAsync(AdminActor actor, string clientId, CancellationToken cancellationToken)
    {
        var application = await db.Set<HubApplication>().AsNoTracking().Include(a => a.Department)
            .SingleOrDefaultAsync(a => a.ClientId == clientId && a.DepartmentId != null, cancellationToken);
        if (application is null)
        {
            return RegistryResult<ClaimPolicyResponse>.NotFound(new(RegistryCodes.ClientNotFound, clientId));
        }

        return actor.CanRead(application.Department!.Code)
            ? RegistryResult<ClaimPolicyResponse>.Ok(ToResponse(application, application.Department))
            : RegistryResult<ClaimPolicyResponse>.Forbidden(new(RegistryCodes.ForbidReadOtherDepartmentClients));
    }

    /// <summary>Nobody widens a client's policy beyond its department's ceiling; only a platform administrator moves the ceiling.</summary>
    public async Task<RegistryResult<ClaimPolicyResponse>> SetAsync(AdminActor actor, string clientId, ClaimPolicyRequest request,
        CancellationToken cancellationToken)
    {
        var (application, department, failure) = await clients.FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure.As<ClaimPolicyResponse>();
        }

        var errors = new FieldErrors();
        var policy = ClaimReleasePolicy.Parse(request.Claims, "claims", errors);
        if (request.MinimumAssuranceLevel is < 1 or > 4)
        {
            errors.Add("minimumAssuranceLevel", new(RegistryCodes.AssuranceLevelRange));
        }

        if (policy is null || errors.Any)
        {
            return RegistryResult<ClaimPolicyResponse>.Invalid(errors);
        }

        var ceiling = ClaimReleasePolicy.FromJson(department!.ClaimCeiling);
        foreach (var key in policy.Exceeding(ceiling))
        {
            errors.Add($"claims.{key}", new(RegistryCodes.ExceedsCeiling, RegistryCodes.Mode(ceiling.ModeOf(key))));
        }

        if (errors.Any)
        {
            return actor.IsPlatform
                ? RegistryResult<ClaimPolicyResponse>.Invalid(errors)
                : RegistryResult<ClaimPolicyResponse>.Forbidden(new(RegistryCodes.ForbidWidenCeiling, string.Join(" ", errors.All.Select(e => e.Key))));
        }

        var before = ToResponse(application!, department);
        application!.ClaimPolicy = policy.ToJson();
        application.MinimumAssuranceLevel = request.MinimumAssuranceLevel ?? application.MinimumAssuranceLevel;
        application.RequireMultiFactor = request.RequireMultiFactor ?? application.RequireMultiFactor;
        application.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        var after = ToResponse(application, department);
        audit.Add(actor.Audit, new ClientPolicyChanged(clientId, department.Code, before, after));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<ClaimPolicyResponse>.Ok(after);
    }

    private static ClaimPolicyResponse ToResponse(HubApplication application, Department department)
    {
        var policy = ClaimReleasePolicy.FromJson(application.ClaimPolicy);
        var ceiling = ClaimReleasePolicy.FromJson(department.ClaimCeiling);
        return new ClaimPolicyResponse(application.ClientId!, policy.ToDictionary(), policy.CappedBy(ceiling).ToDictionary(),
            ceiling.ToDictionary(), application.MinimumAssuranceLevel, application.RequireMultiFactor);
    }
}
