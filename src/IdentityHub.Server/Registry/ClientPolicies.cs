using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>
/// What the protocol endpoints need to know about a client: from this node's <see cref="ClientCache"/>, which every
/// committed change empties (so that a suspension or a policy change applies to the next request, on every node).
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

/// <summary>What <see cref="ClientCache"/> reads from the database about a client and its department.</summary>
public sealed record ClientPolicyRow(
    string Id,
    ClientStatus Status,
    SubjectType SubjectType,
    string? ClaimPolicy,
    int MinimumAssuranceLevel,
    bool RequireMultiFactor,
    string? Code,
    string? Name,
    string? SectorId,
    DepartmentStatus DepartmentStatus,
    string? Ceiling);

public sealed class ClientPolicies(IdentityHubDbContext db, ClientCache cache)
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

        var snapshot = await cache.FindAsync(clientId, db, cancellationToken);
        var policy = snapshot is null ? null : Of(clientId, snapshot);
        _perRequest[clientId] = policy;
        return policy;
    }

    /// <summary>The policy of a client the caller already holds from the <see cref="ClientCache"/> (kept on the entry).</summary>
    public static ClientPolicy Of(string clientId, ClientSnapshot snapshot) => snapshot.Policy ??= Build(clientId, snapshot.Row);

    private static ClientPolicy Build(string clientId, ClientPolicyRow row)
    {
        var claims = ClaimReleasePolicy.FromJson(row.ClaimPolicy);
        return new ClientPolicy(clientId, row.Id, row.Code, row.Name,
            string.IsNullOrEmpty(row.SectorId) ? row.Code ?? PlatformSector : row.SectorId,
            row.Status == ClientStatus.Active, row.DepartmentStatus == DepartmentStatus.Active, row.SubjectType,
            row.Code is null ? claims : claims.CappedBy(ClaimReleasePolicy.FromJson(row.Ceiling)),
            row.MinimumAssuranceLevel, row.RequireMultiFactor);
    }
}
