using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>
/// What the protocol endpoints need to know about a client: from the database, or from the shared cache that every
/// change invalidates (so that a suspension or a policy change applies to the next request, on every node).
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

/// <summary>What <see cref="ClientPolicies"/> reads from the database about a client and its department (the cacheable part).</summary>
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

/// <summary>
/// A cache of <see cref="ClientPolicyRow"/> shared by the nodes (Redis in shared mode, see Scale/); it must forget a
/// client as soon as a change to it or its department commits, on every node. Without one, every request reads the
/// database (<see cref="NoClientPolicyCache"/>).
/// </summary>
public interface IClientPolicyCache
{
    Task<ClientPolicyRow?> GetOrLoadAsync(string clientId, Func<CancellationToken, Task<ClientPolicyRow?>> load, CancellationToken cancellationToken);
}

public sealed class NoClientPolicyCache : IClientPolicyCache
{
    public Task<ClientPolicyRow?> GetOrLoadAsync(string clientId, Func<CancellationToken, Task<ClientPolicyRow?>> load,
        CancellationToken cancellationToken) => load(cancellationToken);
}

public sealed class ClientPolicies(IdentityHubDbContext db, IClientPolicyCache cache)
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

        var row = await cache.GetOrLoadAsync(clientId, token => db.Set<HubApplication>().AsNoTracking()
            .Where(a => a.ClientId == clientId)
            .Select(a => new ClientPolicyRow(
                a.Id!, a.Status, a.SubjectType, a.ClaimPolicy, a.MinimumAssuranceLevel, a.RequireMultiFactor,
                a.Department == null ? null : a.Department.Code,
                a.Department == null ? null : a.Department.Name,
                a.Department == null ? null : a.Department.SectorId,
                a.Department == null ? DepartmentStatus.Active : a.Department.Status,
                a.Department == null ? null : a.Department.ClaimCeiling))
            .SingleOrDefaultAsync(token), cancellationToken);

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
