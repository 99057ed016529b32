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
/// What the token endpoint decided about a code or refresh grant (<see cref="TokenEndpoint.EvaluateGrantAsync"/>): the
/// principal to sign in, or the reason (error_description of invalid_grant, RFC 6749 section 5.2) it is refused.
/// </summary>
/// <param name="Conditions">
/// What the redemption must still find in the database for the grant to hold, when the decision was made from a person read
/// with the code (<see cref="TokenEndpoint.EvaluateGrantAsync"/>'s <c>readWithCode</c>): the session's state was not read, so
/// the redemption checks it (and the account again); null when everything was read and checked here.
/// </param>
public sealed record GrantDecision(ClaimsPrincipal? SignIn, string? Refusal, string? UserId, RefreshTokens.GrantConditions? Conditions = null);

/// <summary>
/// The token endpoint (RFC 6749 section 3.2). OpenIddict has authenticated the client and validated the
/// grant (code + PKCE verifier, refresh token rotation and reuse); this re-checks the person and
/// rebuilds the claims so that a changed or locked account is seen at once.
/// </summary>
public static class TokenEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        // client_credentials never comes here: it is signed in inside OpenIddict (Handlers/SignInClientCredentials).
        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var principal = result.Principal;
            var decision = await EvaluateGrantAsync(context, request, principal, context.RequestAborted);
            if (decision.SignIn is null)
            {
                await DetectRefreshTokenReuseAsync(context, request, principal);
                return OidcResults.Forbid(Errors.InvalidGrant, decision.Refusal!);
            }

            AuditHttpItems.SetUser(context, decision.UserId!);
            return Results.SignIn(decision.SignIn, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        return OidcResults.Forbid(Errors.UnsupportedGrantType, "The grant type is not supported.");
    }

    /// <summary>
    /// The token endpoint's own checks of a code or refresh grant, and the claims of the new tokens (the refresh grant's fast
    /// path makes the same checks through <see cref="EvaluateRefreshGrantAsync"/>): the account behind the grant's sub
    /// still exists, may sign in, is not locked out and meets the client's minimum assurance level; the grant's SSO session
    /// was not ended (a logout revokes its tokens); a mandate to act for an enterprise still holds; then the identity is
    /// rebuilt from the database (<see cref="ClaimsFactory.CreateUserIdentity"/>: the claims the client's policy allows, the
    /// public or pairwise sub, sid, auth_time, acr and amr carried over from the session of the grant).
    /// <para>
    /// <paramref name="readWithCode"/>: the person the code grant's fast path read with the code's entry, in the same round
    /// trip (<see cref="GrantSubjects.LoadWithCodeAsync"/>, the account of the validated code's sub), taken instead of a read
    /// of its own. The session's state is then not read here: the decision carries <see cref="GrantDecision.Conditions"/>,
    /// which the code's redemption checks in its own statement (the session not ended, and the account again), after these
    /// checks, so no later than here.
    /// </para>
    /// </summary>
    public static async Task<GrantDecision> EvaluateGrantAsync(HttpContext context, OpenIddictRequest request, ClaimsPrincipal? principal,
        CancellationToken cancellationToken, Identity.RealName.Person? readWithCode = null)
    {
        // Resolved here rather than as parameters: a client-credentials request, the most frequent one,
        // needs no user store (building UserManager and SignInManager is a measurable share of it).
        var services = context.RequestServices;
        var users = services.GetRequiredService<UserManager<ApplicationUser>>();
        var signInManager = services.GetRequiredService<SignInManager<ApplicationUser>>();
        var grants = services.GetRequiredService<GrantSubjects>();
        var policies = services.GetRequiredService<ClientPolicies>();
        var session = principal is null ? null : SessionFacts.From(principal);
        // The grant's sub is the one the client sees (public or pairwise): map it back to the account. The account,
        // its real-name data and the session's state come in one round trip (GrantSubjects).
        var subject = principal?.GetClaim(Claims.Subject);
        var client = await policies.FindAsync(request.ClientId, cancellationToken);
        var grant = session is null ? null
            : readWithCode is not null ? new GrantSubject(readWithCode, SessionEnded: false)
            : await grants.LoadAsync(subject, client, session.SessionId, cancellationToken);
        var user = grant?.Person.User;
        if (principal is null || session is null || grant is null || user is null || client is null
            || !await signInManager.CanSignInAsync(user) || await users.IsLockedOutAsync(user)
            || AssuranceLevels.Of(user) < client.MinimumAssuranceLevel
            // Ending a session revokes its tokens; this also stops a refresh that raced with the logout.
            || grant.SessionEnded)
        {
            return new GrantDecision(null, "The grant is no longer valid.", null);
        }

        // Acting for an enterprise holds only while the mandate does (a revoked agent's grant ends).
        ActingFor? acting = null;
        if (principal.GetClaim(ClaimsFactory.ActingForPrivateClaim) is { } enterpriseId
            && (acting = await services.GetRequiredService<AgentMandates>().FindActingAsync(user.Id, enterpriseId, cancellationToken)) is null)
        {
            return new GrantDecision(null, "The mandate to act for the enterprise has ended.", null);
        }

        // RFC 6749 section 6: a refresh request may narrow the scopes; OpenIddict has checked
        // that they are a subset of the original grant.
        var scopes = string.IsNullOrEmpty(request.Scope) ? principal.GetScopes() : request.GetScopes();
        var identity = services.GetRequiredService<ClaimsFactory>().CreateUserIdentity(grant.Person, scopes, session, principal.GetResources(),
            client, subject!, ClaimsRequest.FromPrincipal(principal), acting);
        return new GrantDecision(new ClaimsPrincipal(identity), null, user.Id, readWithCode is null ? null
            : RefreshTokens.GrantConditions.Of(user.Id, client.MinimumAssuranceLevel, services.GetRequiredService<TimeProvider>().GetUtcNow(),
                session.SessionId));
    }

    /// <summary>
    /// <see cref="EvaluateGrantAsync"/> for the refresh grant's fast path (<see cref="Handlers.RefreshTokenFastPath"/>) without
    /// a database read of its own: the claims of the new tokens from the person as userinfo takes it
    /// (<see cref="ClaimsPersonCache"/>: emptied by every committed change of the account, its real-name record or evidence),
    /// and the checks that decide whether the grant still holds returned as <see cref="RefreshTokens.GrantConditions"/>, which
    /// the redemption itself checks against the database, the source of truth, in its own statement
    /// (<see cref="RefreshTokens.RefreshTokenEntries.TryRedeemAndInsertAsync"/>): the account exists, is not locked out,
    /// meets the client's assurance level, and the session was not ended. Null (nothing decided, nothing written: the
    /// normal path answers) for what this cannot decide so: no such person, an assurance level below the client's in the
    /// cached copy, a grant acting for an enterprise (its mandate is read by the normal path), or sign-in options that
    /// require a confirmed account, e-mail or phone number (SignInManager.CanSignInAsync; this server requires none).
    /// </summary>
    public static async Task<(ClaimsPrincipal SignIn, string UserId, RefreshTokens.GrantConditions Conditions)?> EvaluateRefreshGrantAsync(
        HttpContext context, OpenIddictRequest request, ClaimsPrincipal principal, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        var signIn = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<IdentityOptions>>().Value.SignIn;
        if (signIn.RequireConfirmedAccount || signIn.RequireConfirmedEmail || signIn.RequireConfirmedPhoneNumber
            || principal.GetClaim(ClaimsFactory.ActingForPrivateClaim) is not null
            || SessionFacts.From(principal) is not { } session
            || principal.GetClaim(Claims.Subject) is not { Length: > 0 } subject
            || await services.GetRequiredService<ClientPolicies>().FindAsync(request.ClientId, cancellationToken) is not { } client
            || client.MinimumAssuranceLevel > AssuranceLevels.Maximum
            || await services.GetRequiredService<ClaimsPersonCache>().FindAsync(subject, client, services, cancellationToken) is not { } person
            || AssuranceLevels.Of(person.User) < client.MinimumAssuranceLevel)
        {
            return null;
        }

        var scopes = string.IsNullOrEmpty(request.Scope) ? principal.GetScopes() : request.GetScopes();
        var identity = services.GetRequiredService<ClaimsFactory>().CreateUserIdentity(person, scopes, session, principal.GetResources(),
            client, subject, ClaimsRequest.FromPrincipal(principal), null);
        return (new ClaimsPrincipal(identity), person.User.Id,
            RefreshTokens.GrantConditions.Of(person.User.Id, client.MinimumAssuranceLevel, now, session.SessionId));
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
