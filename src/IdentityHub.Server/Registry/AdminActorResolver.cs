using System.Security.Claims;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Turns the caller into an <see cref="AdminActor"/>, or null (403). A client-credentials token with the
/// identityhub.admin scope (only the bootstrap client can hold it) is a platform administrator. A person
/// signed in with the IdentityHub cookie has the role read from the database on every request, so that a
/// role change applies at once; a department administrator needs the department claim too.
/// </summary>
public sealed class AdminActorResolver(UserManager<ApplicationUser> users)
{
    public async Task<AdminActor?> ResolveAsync(ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        if (principal.Identity.AuthenticationType != IdentityConstants.ApplicationScheme)
        {
            var clientId = principal.GetClaim(Claims.ClientId) ?? principal.GetPresenters().FirstOrDefault();
            var subject = principal.GetClaim(Claims.Subject);
            // RFC 9068 section 2.2: a client acting for itself has sub = client_id.
            return principal.HasScope(HubScopes.Admin) && clientId is not null && subject == clientId
                ? new AdminActor(AdminRole.PlatformAdministrator, null, AuditActor.Client(clientId))
                : null;
        }

        var user = await users.GetUserAsync(principal);
        if (user is null || await users.IsLockedOutAsync(user))
        {
            return null;
        }

        var roles = await users.GetRolesAsync(user);
        var actor = AuditActor.User(user.Id, user.UserName);
        if (roles.Contains(AdminRoles.PlatformAdministrator))
        {
            return new AdminActor(AdminRole.PlatformAdministrator, null, actor);
        }

        if (roles.Contains(AdminRoles.DepartmentAdministrator)
            && (await users.GetClaimsAsync(user)).FirstOrDefault(c => c.Type == AdminRoles.DepartmentClaim)?.Value is { Length: > 0 } department)
        {
            return new AdminActor(AdminRole.DepartmentAdministrator, department, actor);
        }

        return roles.Contains(AdminRoles.Auditor) ? new AdminActor(AdminRole.Auditor, null, actor) : null;
    }
}
