using Microsoft.AspNetCore.Authentication;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The userinfo endpoint (OIDC Core section 5.3): the claims of the scopes the access token carries.</summary>
public static class UserInfoEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, ClaimsFactory claims, ClientPolicies policies, SubjectIdentifiers subjects,
        IAuditLog audit)
    {
        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var subject = result.Principal?.GetClaim(Claims.Subject);
        // The sub is the one the client sees (public or pairwise): map it back through the client's policy (in memory).
        var clientId = result.Principal?.GetPresenters().FirstOrDefault() ?? result.Principal?.GetClaim(Claims.ClientId);
        var client = await policies.FindAsync(clientId, context.RequestAborted);
        // One database round trip per request: the account the sub stands for (through the pairwise mapping), the columns
        // of it that claims are built from, its real-name record and evidence (SubjectIdentifiers.FindClaimsPersonAsync).
        var person = result.Principal is null || client is null || !client.CanObtainTokens
            ? null
            : await subjects.FindClaimsPersonAsync(subject, client, context.RequestAborted);
        if (result.Principal is null || person is null || client is null || !client.CanObtainTokens)
        {
            // RFC 6750 section 3.1; a disabled client or suspended department loses userinfo at once.
            return OidcResults.Challenge(Errors.InvalidToken, "The access token does not belong to a user of an active client.");
        }

        // The access token carries the claims request's userinfo member (ClaimsFactory), if the client sent one.
        var userInfo = claims.CreateUserInfo(person, result.Principal.GetScopes(), client, subject!,
            ClaimsRequest.FromPrincipal(result.Principal));
        if (ClaimRelease.Describe(userInfo.Keys, client.Claims,
                userInfo.GetValueOrDefault(ClaimsFactory.VerifiedClaimsType) as System.Text.Json.Nodes.JsonNode) is { Names.Count: > 0 } released)
        {
            await audit.WriteAsync(AuditActor.Client(client.ClientId), new ClaimsReleased(client.ClientId, client.DepartmentCode, person.User.Id,
                result.Principal.GetClaim(HubClaims.SessionId), "userinfo", released.Names, released.Masked));
        }

        return Results.Ok(userInfo);
    }
}
