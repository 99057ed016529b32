using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

public sealed record ClientQuery(string? Department, string? Status, string? Kind, string? Search, PageRequest Page);

/// <summary>Reads clients for administrators: a department administrator sees only their own department's.</summary>
public sealed class ClientQueries(IdentityHubDbContext db)
{
    public async Task<Paged<ClientResponse>> ListAsync(AdminActor actor, ClientQuery query, CancellationToken cancellationToken)
    {
        var clients = db.Set<HubApplication>().AsNoTracking().Include(a => a.Department).Where(a => a.Department != null);
        if (!actor.CanRead(null))
        {
            clients = clients.Where(a => a.Department!.Code == actor.DepartmentCode);
        }

        if (!string.IsNullOrWhiteSpace(query.Department))
        {
            clients = clients.Where(a => a.Department!.Code == query.Department);
        }

        if (Enum.TryParse<ClientStatus>(query.Status, ignoreCase: true, out var status))
        {
            clients = clients.Where(a => a.Status == status);
        }

        if (Enum.TryParse<ClientKind>(query.Kind, ignoreCase: true, out var kind))
        {
            clients = clients.Where(a => a.Kind == kind);
        }

        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim();
            clients = clients.Where(a => a.ClientId!.Contains(term) || (a.DisplayName != null && a.DisplayName.Contains(term)));
        }

        var total = await clients.CountAsync(cancellationToken);
        var page = await clients.OrderBy(a => a.ClientId).Skip(query.Page.Skip).Take(query.Page.SafePageSize).ToListAsync(cancellationToken);
        return new Paged<ClientResponse>(page.Select(a => ClientMapping.ToResponse(a, a.Department!.Code)).ToList(), total,
            query.Page.SafePage, query.Page.SafePageSize);
    }

    public async Task<RegistryResult<ClientResponse>> GetAsync(AdminActor actor, string clientId, CancellationToken cancellationToken)
    {
        var application = await db.Set<HubApplication>().AsNoTracking().Include(a => a.Department)
            .SingleOrDefaultAsync(a => a.ClientId == clientId && a.DepartmentId != null, cancellationToken);
        if (application is null)
        {
            return RegistryResult<ClientResponse>.NotFound(new(RegistryCodes.ClientNotFound, clientId));
        }

        return actor.CanRead(application.Department!.Code)
            ? RegistryResult<ClientResponse>.Ok(ClientMapping.ToResponse(application, application.Department.Code))
            : RegistryResult<ClientResponse>.Forbidden(new(RegistryCodes.ForbidReadOtherDepartmentClients));
    }
}
