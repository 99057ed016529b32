using System.Text.Json;
using IdentityHub.Server.Api;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>The registry as configuration: departments (with ceilings) and clients, never secrets.</summary>
public sealed record RegistryDocument(List<DepartmentDocument>? Departments, List<ClientRegistrationRequest>? Clients);

public sealed record DepartmentDocument(string? Code, string? Name, string? NameEn, string? Contact = null, string? Status = null,
    Dictionary<string, string>? Ceiling = null, bool? AllowPublicSubject = null);

public sealed record ImportSummary(int Created, int Updated, int Unchanged);

/// <summary>
/// Export and import. Import is idempotent: what already matches is left untouched (no write, no audit
/// event); the rest is created or updated through the same registry operations as the API, so each change
/// is audited. All or nothing: one invalid entry and nothing is stored. Imported confidential clients get
/// no secret: a platform administrator rotates one when the department is ready to receive it.
/// </summary>
public sealed class RegistryTransfer(IdentityHubDbContext db, DepartmentRegistry departments, ClientRegistry clients, ClientQueries queries)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<RegistryResult<RegistryDocument>> ExportAsync(AdminActor actor, CancellationToken cancellationToken)
    {
        if (!actor.CanRead(null))
        {
            return RegistryResult<RegistryDocument>.Forbidden(new(RegistryCodes.ForbidExport));
        }

        var all = await db.Departments.AsNoTracking().OrderBy(d => d.Code).ToListAsync(cancellationToken);
        var documents = all.Select(d => new DepartmentDocument(d.Code, d.Name, d.NameEn, d.Contact, d.Status.ToString().ToLowerInvariant(),
            ClaimReleasePolicy.FromJson(d.ClaimCeiling).ToDictionary(), d.AllowPublicSubject)).ToList();
        var list = await queries.ListAsync(actor, new ClientQuery(null, null, null, null, new PageRequest(1, int.MaxValue)), cancellationToken);
        var clientDocuments = new List<ClientRegistrationRequest>();
        for (var page = 1; clientDocuments.Count < list.Total; page++)
        {
            var batch = await queries.ListAsync(actor, new ClientQuery(null, null, null, null, new PageRequest(page, 200)), cancellationToken);
            clientDocuments.AddRange(batch.Items.Select(c => c.ToRequest()));
        }

        return RegistryResult<RegistryDocument>.Ok(new RegistryDocument(documents, clientDocuments));
    }

    public async Task<RegistryResult<ImportSummary>> ImportAsync(AdminActor actor, RegistryDocument document, CancellationToken cancellationToken)
    {
        if (!actor.IsPlatform)
        {
            return RegistryResult<ImportSummary>.Forbidden(new(RegistryCodes.ForbidImport));
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var (created, updated, unchanged) = (0, 0, 0);
        var index = 0;
        foreach (var department in document.Departments ?? [])
        {
            var (outcome, failure) = await ImportDepartmentAsync(actor, department, cancellationToken);
            if (failure is not null)
            {
                return Prefixed(failure, $"departments[{index}]");
            }

            Count(outcome, ref created, ref updated, ref unchanged);
            index++;
        }

        index = 0;
        foreach (var client in document.Clients ?? [])
        {
            var (outcome, failure) = await ImportClientAsync(actor, client, cancellationToken);
            if (failure is not null)
            {
                return Prefixed(failure, $"clients[{index}]");
            }

            Count(outcome, ref created, ref updated, ref unchanged);
            index++;
        }

        await transaction.CommitAsync(cancellationToken);
        return RegistryResult<ImportSummary>.Ok(new ImportSummary(created, updated, unchanged));
    }

    private async Task<(RegistryChangeKind, RegistryResult<ImportSummary>?)> ImportDepartmentAsync(AdminActor actor, DepartmentDocument d,
        CancellationToken cancellationToken)
    {
        var request = new DepartmentRequest(d.Code, d.Name, d.NameEn, d.Contact, d.Status);
        var existing = await db.Departments.AsNoTracking().SingleOrDefaultAsync(x => x.Code == d.Code, cancellationToken);
        var kind = RegistryChangeKind.Unchanged;
        if (existing is null)
        {
            var result = await departments.CreateAsync(actor, request, cancellationToken);
            if (!result.IsOk)
            {
                return (kind, result.As<ImportSummary>());
            }

            kind = RegistryChangeKind.Created;
        }
        else if (existing.Name != d.Name || existing.NameEn != d.NameEn || existing.Contact != d.Contact
                 || (d.Status is not null && !string.Equals(existing.Status.ToString(), d.Status, StringComparison.OrdinalIgnoreCase)))
        {
            var result = await departments.UpdateAsync(actor, d.Code!, request, cancellationToken);
            if (!result.IsOk)
            {
                return (kind, result.As<ImportSummary>());
            }

            kind = RegistryChangeKind.Updated;
        }

        if (d.Ceiling is not null || d.AllowPublicSubject is not null)
        {
            var current = await db.Departments.AsNoTracking().SingleAsync(x => x.Code == d.Code, cancellationToken);
            var errors = new FieldErrors();
            var wanted = d.Ceiling is null ? ClaimReleasePolicy.FromJson(current.ClaimCeiling) : ClaimReleasePolicy.Parse(d.Ceiling, "ceiling", errors);
            if (wanted is null)
            {
                return (kind, RegistryResult<ImportSummary>.Invalid(errors));
            }

            if (wanted.ToJson() != ClaimReleasePolicy.FromJson(current.ClaimCeiling).ToJson()
                || (d.AllowPublicSubject ?? current.AllowPublicSubject) != current.AllowPublicSubject)
            {
                var result = await departments.SetCeilingAsync(actor, d.Code!, new CeilingRequest(wanted.ToDictionary(), d.AllowPublicSubject), cancellationToken);
                if (!result.IsOk)
                {
                    return (kind, result.As<ImportSummary>());
                }

                kind = kind == RegistryChangeKind.Unchanged ? RegistryChangeKind.Updated : kind;
            }
        }

        return (kind, null);
    }

    private async Task<(RegistryChangeKind, RegistryResult<ImportSummary>?)> ImportClientAsync(AdminActor actor, ClientRegistrationRequest client,
        CancellationToken cancellationToken)
    {
        var current = client.ClientId is null ? null : await queries.GetAsync(actor, client.ClientId, cancellationToken);
        if (current is not { IsOk: true })
        {
            var result = await clients.RegisterAsync(actor, client, cancellationToken, issueSecret: false);
            return result.IsOk ? (RegistryChangeKind.Created, null) : (RegistryChangeKind.Unchanged, result.As<ImportSummary>());
        }

        var now = current.Value!.ToRequest();
        // The policy (set apart, on the policy page and API) stays as it is where the entry leaves it out; the registration's own
        // settings are replaced as a PUT replaces them: an entry without idTokenOnRefresh or a signing algorithm turns it off.
        var wanted = client with
        {
            ClaimPolicy = client.ClaimPolicy ?? now.ClaimPolicy,
            MinimumAssuranceLevel = client.MinimumAssuranceLevel ?? now.MinimumAssuranceLevel,
            RequireMultiFactor = client.RequireMultiFactor ?? now.RequireMultiFactor,
        };
        if (Canonical(wanted) == Canonical(now))
        {
            return (RegistryChangeKind.Unchanged, null);
        }

        var update = await clients.UpdateAsync(actor, client.ClientId!, client, cancellationToken);
        return update.IsOk ? (RegistryChangeKind.Updated, null) : (RegistryChangeKind.Unchanged, update.As<ImportSummary>());
    }

    /// <summary>The validated settings as JSON, so that two requests meaning the same thing compare equal.</summary>
    private static string Canonical(ClientRegistrationRequest request)
    {
        var settings = ClientRegistrationRules.Validate(request, new FieldErrors());
        return settings is null
            ? JsonSerializer.Serialize(request, Json)
            : JsonSerializer.Serialize(settings with { ClaimPolicy = null } , Json) + (settings.ClaimPolicy?.ToJson() ?? "");
    }

    private static RegistryResult<ImportSummary> Prefixed(RegistryResult<ImportSummary> failure, string prefix)
    {
        if (failure.Errors is null)
        {
            return failure with { Message = new(RegistryCodes.AtEntry, prefix, failure.Message) };
        }

        var errors = new FieldErrors();
        foreach (var (field, messages) in failure.Errors.All)
        {
            messages.ForEach(m => errors.Add($"{prefix}.{field}", m));
        }

        return RegistryResult<ImportSummary>.Invalid(errors);
    }

    private static void Count(RegistryChangeKind kind, ref int created, ref int updated, ref int unchanged)
    {
        switch (kind)
        {
            case RegistryChangeKind.Created: created++; break;
            case RegistryChangeKind.Updated: updated++; break;
            default: unchanged++; break;
        }
    }

    private enum RegistryChangeKind
    {
        Unchanged,
        Created,
        Updated,
    }
}
