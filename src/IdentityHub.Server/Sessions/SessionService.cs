using System.Security.Claims;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// The SSO session's life: started by a sign-in, checked on every request that carries the sign-in cookie,
/// joined by each department app that receives a code, ended by a logout, the citizen or an administrator.
/// Ending revokes the session's codes, refresh and access tokens through OpenIddict's managers and queues the
/// back-channel logout notices (<see cref="BackChannelLogoutSender"/>).
/// </summary>
public sealed class SessionService(
    ISessionStore store,
    IOpenIddictAuthorizationManager authorizations,
    Data.IdentityHubDbContext db,
    IOpenIddictTokenManager tokens,
    LogoutNoticeSignal signal,
    AccessTokenRevocations accessTokens,
    IOptions<SessionOptions> options,
    IOptions<Oidc.OidcOptions> oidc,
    TimeProvider clock,
    ILogger<SessionService> logger)
{
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>Whether the cookie's session is open and belongs to the cookie's person; records activity now and then.</summary>
    public async Task<bool> IsActiveAsync(string? sessionId, string? userId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(sessionId) || string.IsNullOrEmpty(userId))
        {
            return false;
        }

        var state = await store.FindAsync(sessionId, cancellationToken);
        var now = Now;
        if (state is null || state.UserId != userId || !IsLive(state, now))
        {
            return false;
        }

        if (now - state.LastActivityAtUtc >= options.Value.ActivityResolution)
        {
            await store.TouchAsync(sessionId, now, cancellationToken);
        }

        return true;
    }

    /// <summary>Only an explicit end counts here: tokens outlive an idle browser (refresh tokens have their own lifetime).</summary>
    public async Task<bool> HasEndedAsync(string sessionId, CancellationToken cancellationToken) =>
        (await store.FindAsync(sessionId, cancellationToken))?.EndedAtUtc is not null;

    public Task StartAsync(SessionFacts facts, bool keepsSessionId, string userId, string? userName, HttpContext http, CancellationToken cancellationToken)
    {
        var now = Now;
        var userAgent = http.Request.Headers.UserAgent.ToString();
        return store.StartAsync(new SsoSession
        {
            Id = facts.SessionId,
            UserId = userId,
            AuthenticatedAtUtc = facts.AuthenticatedAt.UtcDateTime,
            Methods = string.Join(' ', facts.Methods),
            CreatedAtUtc = now,
            LastActivityAtUtc = now,
            UserAgent = userAgent.Length > 512 ? userAgent[..512] : userAgent,
            IpAddress = http.Connection.RemoteIpAddress?.ToString(),
        }, keepsSessionId, AuditActor.User(userId, userName), cancellationToken);
    }

    /// <summary>
    /// A department app is about to receive a code in this session. Its tokens hang from an ad-hoc authorization
    /// of this session alone (also for explicit-consent clients, whose permanent authorization records only the
    /// consent), so that ending the session revokes exactly this session's refresh tokens.
    /// The authorization (created through OpenIddict's manager: the descriptor of its CreateAsync(identity, subject, client,
    /// type, scopes), its validation and entity cache) and the session participant naming it are inserted by one save, in
    /// one batch (docs/benchmarks.md, the signin scenario): both or neither. With <paramref name="savedWithCode"/> (the
    /// request's code entry will be created in this request, through this DbContext: <see cref="OidcOptions.AdHocAuthorizationWithCode"/>,
    /// with OpenIddict's token storage on and outside its degraded mode) neither is saved here: after OpenIddict's
    /// manager's checks (its ValidateAsync, what its CreateAsync runs before the store's insert; its entity cache is
    /// disabled) they stay in the request's unit of work, and the save of the code's entry inserts all three in one
    /// transaction (one commit and one round trip fewer per code: docs/benchmarks.md, "Sign-in, eleventh session"). No code
    /// is answered without its authorization and participant, and a failed save leaves none of the three. The returned
    /// <see cref="StagedJoin"/> (null when saved here) takes them out of the unit of work if the code's save fails.
    /// </summary>
    public async Task<StagedJoin?> JoinAsync(string sessionId, ClientPolicy client, string subject, string issuer, ClaimsIdentity identity,
        CancellationToken cancellationToken, bool savedWithCode = false)
    {
        // Saved with the code: named by its key, not loaded (OidcOptions.CodeApplicationByKey; set once it is tracked, below).
        var byKey = savedWithCode && oidc.Value.CodeApplicationByKey;
        var descriptor = new OpenIddictAuthorizationDescriptor
        {
            ApplicationId = byKey ? null : client.ApplicationId,
            CreationDate = clock.GetUtcNow(),
            Principal = new ClaimsPrincipal(identity),
            Status = Statuses.Valid,
            Subject = subject,
            Type = AuthorizationTypes.AdHoc,
        };
        descriptor.Scopes.UnionWith(identity.GetScopes());
        var authorization = new HubAuthorization();
        await authorizations.PopulateAsync(authorization, descriptor, cancellationToken);
        identity.SetAuthorizationId(authorization.Id);
        var participant = new SessionParticipant
        {
            SessionId = sessionId,
            AuthorizationId = authorization.Id!,
            ClientId = client.ClientId,
            Subject = subject,
            Issuer = issuer,
            CreatedAtUtc = Now,
        };
        store.StageParticipant(participant);
        var staged = new StagedJoin(db, authorization, participant);
        try
        {
            if (!savedWithCode)
            {
                await authorizations.CreateAsync(authorization, cancellationToken);
                return null;
            }

            // From here to db.Add: what OpenIddict 7.8's OpenIddictAuthorizationManager.CreateAsync(authorization) does
            // before its store's insert (status defaulted to valid: set by the descriptor above; ValidateAsync, refused on
            // any error; then Store.CreateAsync, which adds and saves; then the entity cache, disabled here). Re-check on an
            // OpenIddict upgrade.
            await foreach (var result in authorizations.ValidateAsync(authorization, cancellationToken))
            {
                if (result != System.ComponentModel.DataAnnotations.ValidationResult.Success)
                {
                    throw new InvalidOperationException("The session's ad-hoc authorization is invalid: " + result.ErrorMessage);
                }
            }
        }
        catch
        {
            staged.Unstage();
            throw;
        }

        db.Add(authorization);
        if (byKey)
        {
            db.Entry(authorization).Property(Oidc.Handlers.CodeEntryInOneInsert.ApplicationKey).CurrentValue = client.ApplicationId;
        }

        return staged;
    }

    /// <summary>Ends the session (once) and revokes its tokens; null when it was unknown or ended already.</summary>
    public async Task<EndedSession?> EndAsync(string? sessionId, SessionEndReason reason, AuditActor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(sessionId))
        {
            return null;
        }

        var ended = await store.EndAsync(sessionId, reason, actor, Now, cancellationToken);
        if (ended is null)
        {
            return null;
        }

        if (ended.Clients.Any(c => c.BackChannelLogoutUri is not null))
        {
            signal.Notify();
        }

        await RevokeTokensAsync(ended, cancellationToken);
        return ended;
    }

    /// <summary>Ends every open session of an account; returns how many.</summary>
    public async Task<int> EndAllAsync(string userId, SessionEndReason reason, AuditActor actor, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var sessionId in await store.OpenSessionIdsAsync(userId, cancellationToken))
        {
            if (await EndAsync(sessionId, reason, actor, cancellationToken) is not null)
            {
                count++;
            }
        }

        return count;
    }

    public Task<IReadOnlyList<SessionSummary>> ListActiveAsync(string userId, CancellationToken cancellationToken)
    {
        var now = Now;
        return store.ListActiveAsync(userId, now - options.Value.IdleTimeout, now - options.Value.AbsoluteTimeout, cancellationToken);
    }

    public async Task<bool> BelongsToAsync(string sessionId, string userId, CancellationToken cancellationToken) =>
        (await store.FindAsync(sessionId, cancellationToken))?.UserId == userId;

    private bool IsLive(SessionState state, DateTime now) =>
        state.EndedAtUtc is null
        && now - state.LastActivityAtUtc < options.Value.IdleTimeout
        && now - state.CreatedAtUtc < options.Value.AbsoluteTimeout;

    /// <summary>
    /// Codes, refresh and access tokens of the session's authorizations are revoked. ID tokens stay valid: a
    /// department app that has not heard of the logout yet still presents one as id_token_hint when it signs out.
    /// Access tokens have no entries: every access token with the session's sid issued until now is revoked.
    /// </summary>
    private async Task RevokeTokensAsync(EndedSession ended, CancellationToken cancellationToken)
    {
        await accessTokens.RevokeIssuedUntilNowAsync(RevocationKinds.Session, [ended.SessionId], cancellationToken);
        foreach (var authorizationId in ended.Clients.SelectMany(c => c.AuthorizationIds))
        {
            // Materialised first: revoking saves through the same DbContext.
            var entries = new List<object>();
            await foreach (var token in tokens.FindByAuthorizationIdAsync(authorizationId, cancellationToken))
            {
                entries.Add(token);
            }

            foreach (var token in entries)
            {
                var type = await tokens.GetTypeAsync(token, cancellationToken);
                if (type is "id_token" or TokenTypeIdentifiers.IdentityToken)
                {
                    continue;
                }

                if (!await tokens.TryRevokeAsync(token, cancellationToken))
                {
                    logger.LogWarning("Token {TokenId} of ended session {SessionId} was not revoked (concurrent change)",
                        await tokens.GetIdAsync(token, cancellationToken), ended.SessionId);
                }
            }
        }
    }
}

/// <summary>
/// The ad-hoc authorization and session participant of <see cref="SessionService.JoinAsync"/>, added to the request's
/// unit of work and not yet saved.
/// </summary>
public sealed class StagedJoin(Data.IdentityHubDbContext db, HubAuthorization authorization, SessionParticipant participant)
{
    /// <summary>
    /// After a failed save: a failed SaveChanges leaves its entities Added, and a later save of the same request (the
    /// /Error page is re-executed in the request's scope, with its DbContext) would insert them, the authorization and
    /// participant without their code, or the code's entry the client never received. Takes them, and any token entry
    /// still Added (the code's), out of the unit of work.
    /// </summary>
    public void Unstage()
    {
        foreach (var token in db.ChangeTracker.Entries<HubToken>().Where(e => e.State == Microsoft.EntityFrameworkCore.EntityState.Added).ToList())
        {
            token.State = Microsoft.EntityFrameworkCore.EntityState.Detached;
        }

        db.Entry(authorization).State = Microsoft.EntityFrameworkCore.EntityState.Detached;
        db.Entry(participant).State = Microsoft.EntityFrameworkCore.EntityState.Detached;
    }
}
