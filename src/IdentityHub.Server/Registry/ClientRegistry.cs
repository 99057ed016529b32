using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

public enum RegistrationOutcome
{
    Created,
    UnknownDepartment,
    Duplicate,
}

/// <summary>The only writer of OpenIddict applications: every client is created here, inside a department.</summary>
public sealed class ClientRegistry(IdentityHubDbContext db, OpenIddictApplicationManager<HubApplication> applications)
{
    public async Task<(RegistrationOutcome Outcome, ClientRegistrationResponse? Response)> RegisterAsync(
        ClientRegistrationRequest request, CancellationToken cancellationToken)
    {
        var department = await db.Departments.SingleOrDefaultAsync(d => d.Code == request.DepartmentCode, cancellationToken);
        if (department is null)
        {
            return (RegistrationOutcome.UnknownDepartment, null);
        }

        if (await applications.FindByClientIdAsync(request.ClientId!, cancellationToken) is not null)
        {
            return (RegistrationOutcome.Duplicate, null);
        }

        var descriptor = ToDescriptor(request);
        var secret = request.ClientType == ClientTypes.Confidential ? ClientSecrets.Generate() : null;
        var application = new HubApplication { DepartmentId = department.Id };
        await applications.PopulateAsync(application, descriptor, cancellationToken);
        try
        {
            await applications.CreateAsync(application, secret, cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The unique index on ClientId caught a concurrent registration of the same client id.
            return (RegistrationOutcome.Duplicate, null);
        }

        return (RegistrationOutcome.Created, new ClientRegistrationResponse(request.ClientId!, secret));
    }

    /// <summary>Creates or updates a client from trusted configuration (bootstrap, demo data). Returns the client's department-less entity.</summary>
    public async Task EnsureAsync(ClientRegistrationRequest request, string? secret, string? departmentId, CancellationToken cancellationToken)
    {
        var descriptor = ToDescriptor(request);
        var existing = await applications.FindByClientIdAsync(request.ClientId!, cancellationToken);
        if (existing is null)
        {
            var application = new HubApplication { DepartmentId = departmentId };
            await applications.PopulateAsync(application, descriptor, cancellationToken);
            await applications.CreateAsync(application, secret, cancellationToken);
            return;
        }

        descriptor.ClientSecret = secret;
        existing.DepartmentId = departmentId;
        await applications.UpdateAsync(existing, descriptor, cancellationToken);
    }

    private static OpenIddictApplicationDescriptor ToDescriptor(ClientRegistrationRequest request)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = request.ClientId,
            DisplayName = request.DisplayName,
            ClientType = request.ClientType,
            // Department apps are trusted by the city; explicit consent arrives with the registry issue.
            ConsentType = ConsentTypes.Implicit,
        };

        var grants = request.GrantTypes ?? [];
        descriptor.Permissions.Add(Permissions.Endpoints.Token);
        descriptor.Permissions.Add(Permissions.Endpoints.Revocation);
        if (request.ClientType == ClientTypes.Confidential)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
        }

        if (grants.Contains(GrantTypes.AuthorizationCode))
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Authorization);
            descriptor.Permissions.Add(Permissions.Endpoints.PushedAuthorization);
            descriptor.Permissions.Add(Permissions.Endpoints.EndSession);
            descriptor.Permissions.Add(Permissions.ResponseTypes.Code);
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }

        foreach (var grant in grants.Distinct(StringComparer.Ordinal))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + grant);
        }

        foreach (var scope in (request.Scopes ?? []).Distinct(StringComparer.Ordinal))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }

        foreach (var uri in request.RedirectUris ?? [])
        {
            descriptor.RedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }

        foreach (var uri in request.PostLogoutRedirectUris ?? [])
        {
            descriptor.PostLogoutRedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }

        return descriptor;
    }
}
