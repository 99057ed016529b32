using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using System.Security.Claims;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The userinfo endpoint (OIDC Core section 5.3): the claims of the scopes the access token carries.</summary>
public static class UserInfoEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, ClaimsFactory claims, ClientPolicies policies, ClaimsPersonCache persons,
        IAuditLog audit)
    {
        var principal = await AccessTokenPrincipalAsync(context);
        var subject = principal?.GetClaim(Claims.Subject);
        // The sub is the one the client sees (public or pairwise): map it back through the client's policy (in memory).
        var clientId = principal?.GetPresenters().FirstOrDefault() ?? principal?.GetClaim(Claims.ClientId);
        var client = await policies.FindAsync(clientId, context.RequestAborted);
        // The account the sub stands for (through the pairwise mapping), the columns of it that claims are built from, its
        // real-name record and evidence: from this node's memory, which every committed change of the person empties
        // (ClaimsPersonCache); else one database round trip.
        var person = principal is null || client is null || !client.CanObtainTokens
            ? null
            : await persons.FindAsync(subject, client, context.RequestServices, context.RequestAborted);
        if (principal is null || person is null || client is null || !client.CanObtainTokens)
        {
            // RFC 6750 section 3.1; a disabled client or suspended department loses userinfo at once, a deleted account too.
            return OidcResults.Challenge(Errors.InvalidToken, "The access token does not belong to a user of an active client.");
        }

        // The access token carries the claims request's userinfo member (ClaimsFactory), if the client sent one.
        var userInfo = claims.CreateUserInfo(person, principal.GetScopes(), client, subject!,
            ClaimsRequest.FromPrincipal(principal));
        // Every release is recorded (the citizen's "who received my data" history) and durable (group commit) before the
        // claims leave the server.
        if (ClaimRelease.Describe(userInfo.Names, client.Claims, userInfo.VerifiedClaims) is { Names.Count: > 0 } released)
        {
            await audit.WriteAsync(AuditActor.Client(client.ClientId), new ClaimsReleased(client.ClientId, client.DepartmentCode, person.User.Id,
                principal.GetClaim(HubClaims.SessionId), "userinfo", released.Names, released.Masked));
        }

        return new UserInfoResult(userInfo);
    }

    /// <summary>
    /// The principal of the access token OpenIddict validated for this request (its ValidateUserInfoRequest keeps the
    /// authentication in the transaction): what AuthenticateAsync with OpenIddict's scheme returns here, without building
    /// the authentication ticket and its properties. Null when the token was refused (AuthenticateAsync: a failure or no
    /// result). Without that authentication in the transaction, AuthenticateAsync itself, which then runs it.
    /// </summary>
    private static async ValueTask<ClaimsPrincipal?> AccessTokenPrincipalAsync(HttpContext context)
    {
        if (context.Features.Get<OpenIddictServerAspNetCoreFeature>()?.Transaction is { } transaction
            && transaction.GetProperty<OpenIddictServerEvents.ProcessAuthenticationContext>(
                typeof(OpenIddictServerEvents.ProcessAuthenticationContext).FullName!) is { EndpointType: OpenIddictServerEndpointType.UserInfo } authentication)
        {
            return authentication is { IsRequestHandled: false, IsRequestSkipped: false, IsRejected: false }
                ? authentication.AccessTokenPrincipal
                : null;
        }

        return (await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
    }

    /// <summary>200 with the claims as a JSON object (OIDC Core section 5.3.2), written straight into the response body.</summary>
    private sealed class UserInfoResult(UserInfoAnswer answer) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json; charset=utf-8";
            using (var writer = new Utf8JsonWriter(response.BodyWriter))
            {
                answer.WriteTo(writer);
            }

            return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
        }
    }
}
