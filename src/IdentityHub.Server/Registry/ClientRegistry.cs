using IdentityHub.Server.Api;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>
/// The only writer of OpenIddict applications. Each change is one SaveChanges: the application, its
/// secrets and the audit event together. Once it commits, <see cref="RegistryChangeInterceptor"/> empties the
/// client cache of this node and tells the others (<see cref="ClientCache"/>), so the next request reads the new state.
/// </summary>
public sealed class ClientRegistry(
    IdentityHubDbContext db,
    OpenIddictApplicationManager<HubApplication> applications,
    IAuditLog audit,
    TimeProvider clock,
    IOptions<RegistryOptions> options,
    IssuedGrants grants,
    IOptionsMonitor<OpenIddictServerOptions> server)
{
    public async Task<RegistryResult<ClientRegistrationResponse>> RegisterAsync(AdminActor actor, ClientRegistrationRequest request,
        CancellationToken cancellationToken, bool issueSecret = true)
    {
        var errors = new FieldErrors();
        var settings = ClientRegistrationRules.Validate(request, errors);
        if (settings is null)
        {
            return RegistryResult<ClientRegistrationResponse>.Invalid(errors);
        }

        var department = await db.Departments.SingleOrDefaultAsync(d => d.Code == settings.DepartmentCode, cancellationToken);
        if (department is null)
        {
            return RegistryResult<ClientRegistrationResponse>.Invalid("departmentCode", new(RegistryCodes.DepartmentNotFound, settings.DepartmentCode));
        }

        if (!actor.CanManageClientsOf(department.Code))
        {
            return RegistryResult<ClientRegistrationResponse>.Forbidden(new(RegistryCodes.ForbidRegisterOtherDepartment));
        }

        if (await db.Set<HubApplication>().AnyAsync(a => a.ClientId == settings.ClientId, cancellationToken))
        {
            return RegistryResult<ClientRegistrationResponse>.Conflict("clientId", new(RegistryCodes.ClientExists, settings.ClientId));
        }

        var application = new HubApplication { DepartmentId = department.Id, Kind = settings.Kind, CreatedAtUtc = Now() };
        var failure = await ApplyAsync(actor, application, settings, department, cancellationToken);
        if (failure is not null)
        {
            return failure.As<ClientRegistrationResponse>();
        }

        string? secret = null;
        DateTime? expires = null;
        if (issueSecret && settings.Kind != ClientKind.Public && settings.Jwks is null)
        {
            (secret, var entry) = NewSecret(application.Id!, null);
            expires = entry.ExpiresAtUtc;
            db.ClientSecrets.Add(entry);
        }

        db.Set<HubApplication>().Add(application);
        audit.Add(actor.Audit, new ClientChanged(RegistryChange.Created, settings.ClientId, department.Code, null,
            ClientMapping.ToResponse(application, department.Code)));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The unique index on ClientId caught a concurrent registration of the same client id.
            db.ChangeTracker.Clear();
            return RegistryResult<ClientRegistrationResponse>.Conflict("clientId", new(RegistryCodes.ClientExists, settings.ClientId));
        }

        return RegistryResult<ClientRegistrationResponse>.Ok(new ClientRegistrationResponse(settings.ClientId, secret, expires));
    }

    /// <summary>Replaces the client's settings. Client id, department and kind do not change; an omitted claim policy or level is kept.</summary>
    public async Task<RegistryResult<ClientResponse>> UpdateAsync(AdminActor actor, string clientId, ClientRegistrationRequest request,
        CancellationToken cancellationToken)
    {
        var (application, department, failure) = await FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var errors = new FieldErrors();
        var settings = ClientRegistrationRules.Validate(request with { ClientId = clientId, DepartmentCode = request.DepartmentCode ?? department!.Code }, errors);
        if (settings is null)
        {
            return RegistryResult<ClientResponse>.Invalid(errors);
        }

        if (settings.DepartmentCode != department!.Code)
        {
            return RegistryResult<ClientResponse>.Invalid("departmentCode", new(RegistryCodes.ClientStaysInDepartment));
        }

        if (settings.Kind != application!.Kind)
        {
            return RegistryResult<ClientResponse>.Invalid("kind", new(RegistryCodes.ClientKeepsKind, application.Kind.ToString().ToLowerInvariant()));
        }

        var before = ClientMapping.ToResponse(application, department.Code);
        var applied = await ApplyAsync(actor, application, settings, department, cancellationToken);
        if (applied is not null)
        {
            return applied.As<ClientResponse>();
        }

        return await SaveAsync(actor, application, department.Code, before, RegistryChange.Updated, cancellationToken);
    }

    public async Task<RegistryResult<ClientResponse>> SetStatusAsync(AdminActor actor, string clientId, ClientStatus status, CancellationToken cancellationToken)
    {
        var (application, department, failure) = await FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var before = ClientMapping.ToResponse(application!, department!.Code);
        application!.Status = status;
        var saved = await SaveAsync(actor, application, department.Code, before,
            status == ClientStatus.Disabled ? RegistryChange.Disabled : RegistryChange.Enabled, cancellationToken);
        if (status == ClientStatus.Disabled)
        {
            // Once the status is stored no new code or token is issued; this revokes what was issued before.
            await grants.RevokeAsync([application.Id!], $"Client {clientId} disabled", cancellationToken);
        }

        return saved;
    }

    /// <summary>Deletes the client with its secrets, authorizations and tokens (OpenIddict's cascade).</summary>
    public async Task<RegistryResult<ClientResponse>> DeleteAsync(AdminActor actor, string clientId, CancellationToken cancellationToken)
    {
        var (application, department, failure) = await FindForWriteAsync(actor, clientId, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var before = ClientMapping.ToResponse(application!, department!.Code);
        audit.Add(actor.Audit, new ClientChanged(RegistryChange.Deleted, clientId, department.Code, before, null));
        // OpenIddict's store deletes the tokens and authorizations first, then the application, in one transaction.
        await applications.DeleteAsync(application!, cancellationToken);
        return RegistryResult<ClientResponse>.Ok(before);
    }

    /// <summary>Creates or updates a client from trusted configuration (bootstrap, demo data), with a configured secret.</summary>
    public async Task EnsureAsync(ClientRegistrationRequest request, string? secret, string? departmentId, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        // Trusted configuration may use the reserved administration scope.
        var settings = ClientRegistrationRules.Validate(request with { DepartmentCode = request.DepartmentCode ?? "-", Scopes = [] }, errors)
            ?? throw new InvalidOperationException("Invalid configured client: " + string.Join("; ", errors.All.Select(e => e.Key + " " + string.Join(" ", e.Value))));
        var descriptor = ClientMapping.ToDescriptor(settings with { Scopes = request.Scopes ?? [] });
        // Tracked from this context (the manager's lookups hand out detached copies from the client cache).
        var existing = await db.Set<HubApplication>().SingleOrDefaultAsync(a => a.ClientId == settings.ClientId, cancellationToken);
        if (existing is null)
        {
            var application = new HubApplication
            {
                DepartmentId = departmentId,
                Kind = settings.Kind,
                // Configured clients are public unless the configuration names a subject type (demo department apps: pairwise).
                SubjectType = request.SubjectType is null ? SubjectType.Public : settings.SubjectType,
                BackChannelLogoutUri = settings.BackChannelLogoutUri,
                FrontChannelLogoutUri = settings.FrontChannelLogoutUri,
            };
            await applications.PopulateAsync(application, descriptor, cancellationToken);
            await applications.CreateAsync(application, secret, cancellationToken);
            return;
        }

        descriptor.ClientSecret = secret;
        existing.DepartmentId = departmentId;
        existing.Kind = settings.Kind;
        existing.SubjectType = request.SubjectType is null ? existing.SubjectType : settings.SubjectType;
        existing.BackChannelLogoutUri = settings.BackChannelLogoutUri;
        existing.FrontChannelLogoutUri = settings.FrontChannelLogoutUri;
        await applications.UpdateAsync(existing, descriptor, cancellationToken);
    }

    /// <summary>A new secret for a client: shown once, stored hashed, valid until it expires or is revoked.</summary>
    public (string Secret, ClientSecretEntry Entry) NewSecret(string applicationId, int? expiresInDays)
    {
        var secret = ClientSecrets.Generate();
        var lifetime = expiresInDays is int days ? TimeSpan.FromDays(days) : options.Value.SecretLifetime;
        return (secret, new ClientSecretEntry
        {
            ApplicationId = applicationId,
            Hash = SecretHasher.Hash(secret),
            Hint = secret[^4..],
            CreatedAtUtc = Now(),
            ExpiresAtUtc = Now() + lifetime,
        });
    }

    /// <summary>Finds a client the actor may change; the bootstrap client (no department) is configuration, not registry data.</summary>
    public async Task<(HubApplication? Application, Department? Department, RegistryResult<ClientResponse>? Failure)> FindForWriteAsync(
        AdminActor actor, string clientId, CancellationToken cancellationToken)
    {
        var application = await db.Set<HubApplication>().Include(a => a.Department)
            .SingleOrDefaultAsync(a => a.ClientId == clientId && a.DepartmentId != null, cancellationToken);
        if (application?.Department is null)
        {
            return (null, null, RegistryResult<ClientResponse>.NotFound(new(RegistryCodes.ClientNotFound, clientId)));
        }

        if (!actor.CanManageClientsOf(application.Department.Code))
        {
            return (null, null, RegistryResult<ClientResponse>.Forbidden(actor.Role == AdminRole.Auditor
                ? new(RegistryCodes.ForbidAuditorWrite)
                : new(RegistryCodes.ForbidChangeOtherDepartment)));
        }

        return (application, application.Department, null);
    }

    private async Task<RegistryResult<ClientResponse>?> ApplyAsync(AdminActor actor, HubApplication application, ClientSettings settings, Department department,
        CancellationToken cancellationToken)
    {
        var ceiling = ClaimReleasePolicy.FromJson(department.ClaimCeiling);
        var policy = settings.ClaimPolicy ?? ClaimReleasePolicy.FromJson(application.ClaimPolicy);
        if (policy.Exceeding(ceiling).ToList() is { Count: > 0 } exceeding)
        {
            var errors = new FieldErrors();
            foreach (var key in exceeding)
            {
                errors.Add($"claimPolicy.{key}", new(RegistryCodes.ExceedsCeiling, RegistryCodes.Mode(ceiling.ModeOf(key))));
            }

            // A department administrator cannot widen beyond what the platform granted: a role boundary (403).
            return actor.IsPlatform
                ? RegistryResult<ClientResponse>.Invalid(errors)
                : RegistryResult<ClientResponse>.Forbidden(new(RegistryCodes.ForbidWidenCeiling, string.Join(" ", errors.All.Select(e => e.Key))));
        }

        if (settings.SubjectType == SubjectType.Public && !department.AllowPublicSubject)
        {
            return RegistryResult<ClientResponse>.Invalid("subjectType", new(RegistryCodes.PublicSubjectNotAllowed));
        }

        if (Unavailable(application, settings) is { Any: true } unavailable)
        {
            return RegistryResult<ClientResponse>.Invalid(unavailable);
        }

        var descriptor = ClientMapping.ToDescriptor(settings);
        // Secrets live in the ClientSecrets table; a configured (bootstrap or demo) secret hash stays where it is.
        descriptor.ClientSecret = settings.Kind == ClientKind.Public ? null : application.ClientSecret ?? SecretHasher.TableMarker;
        await applications.PopulateAsync(application, descriptor, cancellationToken);
        application.SubjectType = settings.SubjectType;
        application.BackChannelLogoutUri = settings.BackChannelLogoutUri;
        application.FrontChannelLogoutUri = settings.FrontChannelLogoutUri;
        application.ClaimPolicy = settings.ClaimPolicy?.ToJson() ?? application.ClaimPolicy;
        application.MinimumAssuranceLevel = settings.MinimumAssuranceLevel ?? application.MinimumAssuranceLevel;
        application.RequireMultiFactor = settings.RequireMultiFactor ?? application.RequireMultiFactor;
        application.UpdatedAtUtc = Now();

        // A safety net behind the rules above: OpenIddict's own checks, whose (English) text is passed on as it is.
        var problems = new List<string>();
        await foreach (var result in applications.ValidateAsync(application, cancellationToken))
        {
            problems.Add(result.ErrorMessage ?? "invalid");
        }

        return problems.Count == 0 ? null : RegistryResult<ClientResponse>.Invalid("body", new(RegistryCodes.ApplicationInvalid, string.Join(" ", problems)));
    }

    /// <summary>
    /// The registered signing algorithms the server has no key for now (TokenSigning.CanSign): a client must not be promised
    /// tokens the server cannot sign (OpenID Connect Dynamic Client Registration 1.0 section 2: the ID token "MUST" use the
    /// registered algorithm). The value the client already has is let through unchanged, so that its other settings can
    /// still be edited while a key is missing (the signing paths refuse its tokens then, whatever the registry says).
    /// </summary>
    private FieldErrors Unavailable(HubApplication application, ClientSettings settings)
    {
        var stored = TokenSigning.Of(application.Settings);
        var current = server.CurrentValue;
        var errors = new FieldErrors();
        foreach (var (field, wanted, kept) in new[]
        {
            ("idTokenSignedResponseAlg", settings.IdTokenSignedResponseAlg, stored.IdToken),
            ("accessTokenSignedResponseAlg", settings.AccessTokenSignedResponseAlg, stored.AccessToken),
        })
        {
            if (wanted is not null && wanted != kept && !TokenSigning.CanSign(current, wanted))
            {
                errors.Add(field, new(RegistryCodes.SigningAlgorithmUnavailable, wanted, string.Join(", ", TokenSigning.Available(current))));
            }
        }

        return errors;
    }

    private async Task<RegistryResult<ClientResponse>> SaveAsync(AdminActor actor, HubApplication application, string departmentCode,
        ClientResponse before, RegistryChange change, CancellationToken cancellationToken)
    {
        application.UpdatedAtUtc = Now();
        var after = ClientMapping.ToResponse(application, departmentCode);
        audit.Add(actor.Audit, new ClientChanged(change, application.ClientId!, departmentCode, before, after));
        await db.SaveChangesAsync(cancellationToken);
        return RegistryResult<ClientResponse>.Ok(after);
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
