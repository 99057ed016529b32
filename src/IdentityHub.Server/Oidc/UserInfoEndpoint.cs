using System.Collections.Immutable;
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

/// <summary>
/// The userinfo endpoint (OIDC Core section 5.3): the claims of the scopes the access token carries. The plain, common
/// request (a bearer access token in the Authorization header) is answered by <see cref="Handlers.UserInfoFastPath"/> with
/// this class's <see cref="ReleaseAsync"/> and <see cref="WriteAsync"/>; everything else reaches <see cref="HandleAsync"/>
/// after OpenIddict's pipeline has validated the token.
/// </summary>
public static class UserInfoEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, ClaimsFactory claims, ClientPolicies policies, ClaimsPersonCache persons,
        IAuditLog audit)
    {
        var principal = await AccessTokenPrincipalAsync(context);
        // The sub is the one the client sees (public or pairwise): map it back through the client's policy (in memory).
        var bearer = principal is null
            ? null
            : new UserInfoBearer(principal.GetClaim(Claims.Subject), principal.GetPresenters().FirstOrDefault() ?? principal.GetClaim(Claims.ClientId),
                principal.GetScopes(), principal.GetClaim(ClaimsRequest.PrivateClaim), principal.GetClaim(HubClaims.SessionId));
        if (bearer is not null && Refusal(bearer) is { } refusal)
        {
            return OidcResults.Challenge(refusal.Error, refusal.Description);
        }

        if (bearer is null || await ReleaseAsync(bearer, claims, policies, persons, audit, context.RequestServices, context.RequestAborted) is not { } answer)
        {
            // RFC 6750 section 3.1; a disabled client or suspended department loses userinfo at once, a deleted account too.
            return OidcResults.Challenge(Errors.InvalidToken, "The access token does not belong to a user of an active client.");
        }

        return new UserInfoResult(answer);
    }

    /// <summary>
    /// Why a validated access token gets no userinfo at all, or null. OIDC Core section 5.3: userinfo answers for the end-user
    /// an OpenID Connect request authorised, so the token must carry the openid scope (else 403 insufficient_scope, RFC 6750
    /// section 3.1) and come from a user's sign-in, which every such token records with its session id (a client-credentials
    /// token has none: its sub is the client's own id, which must never be read as an account's).
    /// </summary>
    internal static (string Error, string Description)? Refusal(UserInfoBearer bearer) =>
        !bearer.Scopes.Contains(Scopes.OpenId) ? (Errors.InsufficientScope, "The access token was not granted the openid scope.")
        : string.IsNullOrEmpty(bearer.SessionId) ? (Errors.InvalidToken, "The access token was not issued for a signed-in user.")
        : null;

    /// <summary>
    /// The claims the validated access token <paramref name="bearer"/> obtains, after their claims.released event is durable;
    /// null (nothing released, nothing recorded) when the token's client is unknown, disabled or of a suspended department, or
    /// its sub names no account (the caller answers 401 invalid_token). The one place both paths build the answer.
    /// </summary>
    internal static async Task<UserInfoAnswer?> ReleaseAsync(UserInfoBearer bearer, ClaimsFactory claims, ClientPolicies policies,
        ClaimsPersonCache persons, IAuditLog audit, IServiceProvider services, CancellationToken cancellationToken)
    {
        var client = await policies.FindAsync(bearer.ClientId, cancellationToken);
        if (client is null || !client.CanObtainTokens)
        {
            return null;
        }

        // The account the sub stands for (through the pairwise mapping), the columns of it that claims are built from, its
        // real-name record and evidence: from this node's memory, which every committed change of the person empties
        // (ClaimsPersonCache); else one database round trip.
        if (await persons.FindAsync(bearer.Subject, client, services, cancellationToken) is not { } person)
        {
            return null;
        }

        // The access token carries the claims request's userinfo member (ClaimsFactory), if the client sent one.
        var userInfo = claims.CreateUserInfo(person, bearer.Scopes, client, bearer.Subject!, ClaimsRequest.FromClaim(bearer.ClaimsRequest));
        // Every release is recorded (the citizen's "who received my data" history) and durable (group commit) before the
        // claims leave the server.
        if (ClaimRelease.Describe(userInfo.Names, client.Claims, userInfo.VerifiedClaims) is { Names.Count: > 0 } released)
        {
            await audit.WriteAsync(AuditActor.Client(client.ClientId), new ClaimsReleased(client.ClientId, client.DepartmentCode, person.User.Id,
                bearer.SessionId, "userinfo", released.Names, released.Masked));
        }

        return userInfo;
    }

    /// <summary>
    /// 200 with the claims as a JSON object (OIDC Core section 5.3.2), written straight into the response body; personal data,
    /// so never stored by a cache (Cache-Control: no-store, Pragma: no-cache, as RFC 6749 section 5.1 asks of token responses).
    /// </summary>
    internal static Task WriteAsync(HttpContext httpContext, UserInfoAnswer answer)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            answer.WriteTo(writer);
        }

        return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
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

    private sealed class UserInfoResult(UserInfoAnswer answer) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, answer);
    }
}

/// <summary>
/// What userinfo reads from a validated access token: its sub, the client it was issued to (the first presenter, else
/// client_id, as OpenIddict's MapInternalClaims infers presenters), its scopes, the claims request it carries
/// (<see cref="ClaimsRequest.PrivateClaim"/>, JSON) and its session id.
/// </summary>
internal sealed record UserInfoBearer(string? Subject, string? ClientId, ImmutableArray<string> Scopes, string? ClaimsRequest, string? SessionId);
