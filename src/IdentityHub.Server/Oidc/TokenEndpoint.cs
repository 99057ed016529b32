using Microsoft.AspNetCore.Authentication;
using System.Security.Claims;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The token endpoint (RFC 6749 section 3.2). OpenIddict has authenticated the client and validated the
/// grant (code + PKCE verifier, refresh token rotation and reuse); this re-checks the person and
/// rebuilds the claims so that a changed or locked account is seen at once.
/// </summary>
public static class TokenEndpoint
{
    public static async Task<IResult> HandleAsync(
        HttpContext context,
        ClaimsFactory claims,
        ClientPolicies policies,
        AgentMandates mandates)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        // client_credentials never comes here: it is signed in inside OpenIddict (Handlers/SignInClientCredentials).
        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            // Resolved here rather than as parameters: a client-credentials request, the most frequent one,
            // needs no user store (building UserManager and SignInManager is a measurable share of it).
            var users = context.RequestServices.GetRequiredService<UserManager<ApplicationUser>>();
            var signInManager = context.RequestServices.GetRequiredService<SignInManager<ApplicationUser>>();
            var grants = context.RequestServices.GetRequiredService<GrantSubjects>();
            var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var principal = result.Principal;
            var session = principal is null ? null : SessionFacts.From(principal);
            // The grant's sub is the one the client sees (public or pairwise): map it back to the account. The account,
            // its real-name data and the session's state come in one round trip (GrantSubjects).
            var subject = principal?.GetClaim(Claims.Subject);
            var client = await policies.FindAsync(request.ClientId, context.RequestAborted);
            var grant = session is null ? null : await grants.LoadAsync(subject, client, session.SessionId, context.RequestAborted);
            var user = grant?.Person.User;
            if (principal is null || session is null || grant is null || user is null || client is null
                || !await signInManager.CanSignInAsync(user) || await users.IsLockedOutAsync(user)
                || AssuranceLevels.Of(user) < client.MinimumAssuranceLevel
                // Ending a session revokes its tokens; this also stops a refresh that raced with the logout.
                || grant.SessionEnded)
            {
                await DetectRefreshTokenReuseAsync(context, request, principal);
                return OidcResults.Forbid(Errors.InvalidGrant, "The grant is no longer valid.");
            }

            // Acting for an enterprise holds only while the mandate does (a revoked agent's grant ends).
            ActingFor? acting = null;
            if (principal.GetClaim(ClaimsFactory.ActingForPrivateClaim) is { } enterpriseId
                && (acting = await mandates.FindActingAsync(user.Id, enterpriseId, context.RequestAborted)) is null)
            {
                await DetectRefreshTokenReuseAsync(context, request, principal);
                return OidcResults.Forbid(Errors.InvalidGrant, "The mandate to act for the enterprise has ended.");
            }

            // RFC 6749 section 6: a refresh request may narrow the scopes; OpenIddict has checked
            // that they are a subset of the original grant.
            var scopes = string.IsNullOrEmpty(request.Scope) ? principal.GetScopes() : request.GetScopes();
            var identity = claims.CreateUserIdentity(grant.Person, scopes, session, principal.GetResources(), client, subject!,
                ClaimsRequest.FromPrincipal(principal), acting);
            AuditHttpItems.SetUser(context, user.Id);
            return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        return OidcResults.Forbid(Errors.UnsupportedGrantType, "The grant type is not supported.");
    }

    /// <summary>
    /// RFC 9700 section 4.14.2 when this endpoint refuses a refresh first: the presented token is redeemed only after
    /// these checks (RefreshTokens/RedeemRefreshTokenEntry), so a token presented again would otherwise escape the reuse
    /// check whenever the request is refused for another reason (a locked account, an ended session or mandate), for
    /// instance after an attacker locked the account on purpose. Its entry is read (one query, on refusals only); a
    /// redeemed one revokes the grant as at redemption.
    /// </summary>
    private static async Task DetectRefreshTokenReuseAsync(HttpContext context, OpenIddictRequest request, ClaimsPrincipal? principal)
    {
        if (!request.IsRefreshTokenGrantType() || principal?.GetTokenId() is not { Length: > 0 } tokenId
            || context.RequestServices.GetService<RefreshTokens.RefreshTokenEntries>() is not { } entries)
        {
            return;
        }

        var services = context.RequestServices;
        await RefreshTokens.RefreshGrant.ExplainUnredeemedAsync(entries, services.GetRequiredService<IOpenIddictTokenManager>(), tokenId,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TokenEndpoint)));
    }
}
