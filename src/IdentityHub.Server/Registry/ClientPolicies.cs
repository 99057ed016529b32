using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>
/// What the protocol endpoints need to know about a client, read fresh from the database on every request
/// (so that a suspension or a policy change applies to the next request, on every node).
/// </summary>
public sealed record ClientPolicy(
    string ClientId,
    string ApplicationId,
    string? DepartmentCode,
    string? DepartmentName,
    string SectorId,
    bool ClientActive,
    bool DepartmentActive,
    SubjectType SubjectType,
    ClaimReleasePolicy Claims,
    int MinimumAssuranceLevel,
    bool RequireMultiFactor = false)
{
    public bool CanObtainTokens => ClientActive && DepartmentActive;
}

public sealed class ClientPolicies(IdentityHubDbContext db)
{
    /// <summary>Sector of clients outside any department (the bootstrap administration client).</summary>
    public const string PlatformSector = "identityhub";

    private readonly Dictionary<string, ClientPolicy?> _perRequest = new(StringComparer.Ordinal);

    public async Task<ClientPolicy?> FindAsync(string? clientId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(clientId))
        {
            return null;
        }

        if (_perRequest.TryGetValue(clientId, out var known))
        {
            return known;
        }

        var row = await db.Set<HubApplication>().AsNoTracking()
            .Where(a => a.ClientId == clientId)
            .Select(a => new
            {
                a.Id, a.Status, a.SubjectType, a.ClaimPolicy, a.MinimumAssuranceLevel, a.RequireMultiFactor,
                Code = a.Department == null ? null : a.Department.Code,
                Name = a.Department == null ? null : a.Department.Name,
                SectorId = a.Department == null ? null : a.Department.SectorId,
                DepartmentStatus = a.Department == null ? DepartmentStatus.Active : a.Department.Status,
                Ceiling = a.Department == null ? null : a.Department.ClaimCeiling,
            })
            .SingleOrDefaultAsync(cancellationToken);

        ClientPolicy? policy = null;
        if (row is not null)
        {
            var claims = ClaimReleasePolicy.FromJson(row.ClaimPolicy);
            policy = new ClientPolicy(clientId, row.Id!, row.Code, row.Name,
                string.IsNullOrEmpty(row.SectorId) ? row.Code ?? PlatformSector : row.SectorId,
                row.Status == ClientStatus.Active, row.DepartmentStatus == DepartmentStatus.Active, row.SubjectType,
                row.Code is null ? claims : claims.CappedBy(ClaimReleasePolicy.FromJson(row.Ceiling)),
                row.MinimumAssuranceLevel, row.RequireMultiFactor);
        }

        _perRequest[clientId] = policy;
        return policy;
    }
}
