using System.Security.Claims;
using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// Ties the sign-in cookie to its server-side session. Signing in starts the session named by the cookie's sid
/// (or, when the same person signs in again in this browser, keeps the browser's session and its sid); every request's cookie is refused once its session has ended,
/// expired or belongs to someone else; signing out ends it. Hooked on the cookie events, so that every way of
/// signing in (password today, second factors later) goes through the same place.
/// </summary>
public static class SessionCookieEvents
{
    public static void Attach(CookieAuthenticationOptions cookie)
    {
        var events = cookie.Events ?? new CookieAuthenticationEvents();
        var validate = events.OnValidatePrincipal;
        var signingIn = events.OnSigningIn;
        var signingOut = events.OnSigningOut;
        events.OnValidatePrincipal = async context =>
        {
            if (!await IsActiveAsync(context.HttpContext, context.Principal))
            {
                context.RejectPrincipal();
                // Removed directly: SignOutAsync would record the end of a session as a logout.
                context.Options.CookieManager.DeleteCookie(context.HttpContext, context.Options.Cookie.Name!,
                    context.Options.Cookie.Build(context.HttpContext));
                return;
            }

            // Then Identity's own check (security stamp). A renewed stamp ("this wasn't me", password reset) signs the
            // cookie out from inside this validation; EndAsync then takes the principal from here rather than
            // authenticating the cookie again (which would validate it again, and recurse).
            context.HttpContext.Items[ValidatingKey] = context.Principal;
            try
            {
                await validate(context);
            }
            finally
            {
                context.HttpContext.Items.Remove(ValidatingKey);
            }
        };
        events.OnSigningIn = async context =>
        {
            await StartAsync(context);
            await signingIn(context);
        };
        events.OnSigningOut = async context =>
        {
            await EndAsync(context.HttpContext, context.Scheme.Name);
            await signingOut(context);
        };
        cookie.Events = events;
    }

    private static Task<bool> IsActiveAsync(HttpContext http, ClaimsPrincipal? principal)
    {
        var facts = principal is null ? null : SessionFacts.From(principal);
        return http.RequestServices.GetRequiredService<SessionService>()
            .IsActiveAsync(facts?.SessionId, UserId(http, principal), http.RequestAborted);
    }

    private static async Task StartAsync(CookieSigningInContext context)
    {
        var http = context.HttpContext;
        var principal = context.Principal ?? throw new InvalidOperationException("Signing in without a principal.");
        var userId = UserId(http, principal) ?? throw new InvalidOperationException("Signing in without a user id.");
        var current = await http.AuthenticateAsync(context.Scheme.Name);
        var currentFacts = current.Succeeded ? SessionFacts.From(current.Principal!) : null;
        var sessions = http.RequestServices.GetRequiredService<SessionService>();

        var samePerson = currentFacts is not null && UserId(http, current.Principal) == userId;
        var facts = SessionFacts.From(principal);
        // A sid minted for this very sign-in (SignInCompletion marks it) names no session yet: it is inserted without a lookup.
        var minted = context.Properties.Items.Remove(NewSessionProperty, out var mintedSid) && mintedSid == facts?.SessionId;
        if (samePerson && facts?.SessionId != currentFacts!.SessionId)
        {
            minted = false;
            // The same person signing in again in this browser (prompt=login, max_age, a step-up, Identity's
            // RefreshSignInAsync) stays in the same SSO session: the sid is stable; auth_time and amr are the new
            // login's, or the session's when the new cookie has none.
            facts = facts is null ? currentFacts! : facts with { SessionId = currentFacts!.SessionId };
            Replace(principal, facts);
        }
        else if (facts is null)
        {
            minted = true;
            facts = new SessionFacts(NewSessionId(), DateTimeOffset.UtcNow, []);
            Replace(principal, facts);
        }

        if (currentFacts is not null && !samePerson)
        {
            // Another person signs in in this browser: the previous person's session ends (shared computer); its
            // apps are told, and its tokens revoked.
            await sessions.EndAsync(currentFacts.SessionId, SessionEndReason.Replaced,
                AuditActor.User(UserId(http, current.Principal) ?? userId, current.Principal?.Identity?.Name), http.RequestAborted);
        }

        await sessions.StartAsync(facts, keepsSessionId: !minted, userId, principal.Identity?.Name, http, http.RequestAborted);
    }

    private static async Task EndAsync(HttpContext http, string scheme)
    {
        var principal = http.Items.TryGetValue(ValidatingKey, out var validating) && validating is ClaimsPrincipal underValidation
            ? underValidation
            : (await http.AuthenticateAsync(scheme)) is { Succeeded: true } current ? current.Principal : null;
        var facts = principal is null ? null : SessionFacts.From(principal);
        if (facts is not null)
        {
            // Usually ended already by whoever signed out (logout endpoint, account page); this catches any other sign-out.
            await http.RequestServices.GetRequiredService<SessionService>().EndAsync(facts.SessionId, SessionEndReason.Logout,
                AuditActor.User(UserId(http, principal) ?? "", principal!.Identity?.Name), http.RequestAborted);
        }
    }

    /// <summary>
    /// Authentication property a sign-in sets to the sid it has just minted (128 random bits), so that the session is
    /// inserted without looking the sid up first; removed before the cookie is written.
    /// </summary>
    public const string NewSessionProperty = "ih.new_sid";

    /// <summary>HttpContext item: the cookie principal Identity's security stamp check is validating right now.</summary>
    private const string ValidatingKey = "ih.session.validating";

    private static void Replace(ClaimsPrincipal principal, SessionFacts facts)
    {
        var identity = principal.Identities.First();
        foreach (var stale in identity.Claims
                     .Where(c => c.Type is HubClaims.SessionId or HubClaims.AuthenticationTime or HubClaims.AuthenticationMethod).ToList())
        {
            identity.RemoveClaim(stale);
        }

        identity.AddClaims(facts.ToClaims());
    }

    private static string? UserId(HttpContext http, ClaimsPrincipal? principal) =>
        principal?.FindFirst(http.RequestServices.GetRequiredService<IOptions<IdentityOptions>>().Value.ClaimsIdentity.UserIdClaimType)?.Value;

    /// <summary>128 random bits, hex: the same form as the sign-in page's.</summary>
    public static string NewSessionId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
}
