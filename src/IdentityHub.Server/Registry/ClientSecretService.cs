using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>Body of POST /api/admin/clients/{clientId}/secrets.</summary>
public sealed record RotateSecretRequest(int? ExpiresInDays);

/// <summary>A secret's metadata; the secret itself appears only in <see cref="NewSecretResponse"/>, once.</summary>
public sealed record SecretResponse(string Id, string Hint, DateTime CreatedAtUtc, DateTime? ExpiresAtUtc, DateTime? RevokedAtUtc, bool Active);

public sealed record NewSecretResponse(string ClientId, string Id, string ClientSecret, DateTime? ExpiresAtUtc);

/// <summary>
/// Rotation: a new secret is added and works at once; the old ones keep working until revoked or expired,
/// so a department can roll its servers over without an outage.
/// </summary>
public sealed class ClientSecretService(IdentityHubDbContext db, ClientRegistry clients, IAuditLog audit, TimeProvider clock)
{
    public async Task<RegistryResult<IReadOnlyList<SecretResponse>>> ListAsync(AdminActor actor, string clientId, CancellationToken cancellationToken)
    {
        var application = await db.Set<HubApplication>().AsNoTracking().Include(a => a.Department)
            .SingleOrDefaultAsync(a => a.ClientId == clientId && a.DepartmentId != null, cancellationToken);
        if (application is null)
        {
            return RegistryResult<IReadOnlyList<SecretResponse>>.NotFound(new(RegistryCodes.ClientNotFound, clientId));
        }

        if (!actor.CanRead(application.Department!.Code))
        {
            return RegistryResult<IReadOnlyList<SecretResponse>>.Forbidden(new(RegistryCodes.ForbidReadOtherDepartmentClients));
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var secrets = await db.ClientSecrets.AsNoTracking().Where(s => s.ApplicationId == application.Id)
            .OrderByDescending(s => s.CreatedAtUtc).ToListAsync(cancellationToken);
        return RegistryResult<IReadOnlyList<SecretResponse>>.Ok(secrets.Select(s => ToResponse(s, now)).ToList());
    }

    public async Task<RegistryResult<NewSecretResponse>> RotateAsync(AdminActor actor, string clientId, RotateSecretRequest request,
        CancellationToken cancellationToken)
    {
        if (request.ExpiresInDays is < 1 or > 730)
        {
            return RegistryResult<NewSecretResponse>.Invalid("expiresInDays", new(RegistryCodes.SecretExpiryRange));
        }

        var (application, department, failure) = await clients.FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure.As<NewSecretResponse>();
        }

        if (application!.Kind == ClientKind.Public)
        {
            return RegistryResult<NewSecretResponse>.Invalid("clientId", new(RegistryCodes.PublicClientNoSecret));
        }

        if (application.ClientSecret is { } configured && configured != SecretHasher.TableMarker && SecretHasher.IsOurs(configured))
        {
            // A configured secret (demo data) joins the table, so that it keeps working until revoked.
            db.ClientSecrets.Add(new ClientSecretEntry { ApplicationId = application.Id!, Hash = configured, Hint = "conf" });
        }

        application.ClientSecret = SecretHasher.TableMarker;
        var (secret, entry) = clients.NewSecret(application.Id!, request.ExpiresInDays);
        db.ClientSecrets.Add(entry);
        audit.Add(actor.Audit, new ClientSecretChanged(true, clientId, department!.Code, null, ToResponse(entry, entry.CreatedAtUtc)));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<NewSecretResponse>.Ok(new NewSecretResponse(clientId, entry.Id, secret, entry.ExpiresAtUtc));
    }

    public async Task<RegistryResult<SecretResponse>> RevokeAsync(AdminActor actor, string clientId, string secretId, CancellationToken cancellationToken)
    {
        var (application, department, failure) = await clients.FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure.As<SecretResponse>();
        }

        var entry = await db.ClientSecrets.SingleOrDefaultAsync(s => s.Id == secretId && s.ApplicationId == application!.Id, cancellationToken);
        if (entry is null)
        {
            return RegistryResult<SecretResponse>.NotFound(new(RegistryCodes.SecretNotFound, clientId, secretId));
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var before = ToResponse(entry, now);
        entry.RevokedAtUtc ??= now;
        var after = ToResponse(entry, now);
        audit.Add(actor.Audit, new ClientSecretChanged(false, clientId, department!.Code, before, after));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<SecretResponse>.Ok(after);
    }

    private static SecretResponse ToResponse(ClientSecretEntry s, DateTime now) =>
        new(s.Id, "…" + s.Hint, s.CreatedAtUtc, s.ExpiresAtUtc, s.RevokedAtUtc, s.IsActive(now));
}
