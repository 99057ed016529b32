using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Factors;

/// <summary>
/// The end of every sign-in, whatever the factors: after a first factor it either asks for a second
/// (two-step verification is on and the factors so far are not multi-factor) or issues the SSO cookie
/// with the session facts (sid, auth_time, amr), remembers the device and records the events.
/// </summary>
public sealed class SignInCompletion(
    SignInManager<ApplicationUser> signInManager,
    KnownDevices devices,
    SecurityEvents events,
    ClientPolicies policies,
    IAuditLog audit,
    IdentityHubDbContext db,
    TimeProvider clock)
{
    public const string SecondFactorPath = "/Account/Login/SecondFactor";

    /// <summary>Where to send the browser after a successful first factor.</summary>
    public async Task<string> AfterFirstFactorAsync(HttpContext context, ApplicationUser user, IReadOnlyList<string> methods, string returnUrl)
    {
        if (user.TwoFactorEnabled && !AuthenticationMethods.IsMultiFactor(methods))
        {
            await PendingSignIn.StartAsync(context, user.Id, methods);
            await events.RecordAsync(AccountAction.SecondFactorRequired, user.Id, string.Join(' ', methods));
            return SecondFactorPath + QueryString.Create("ReturnUrl", returnUrl);
        }

        await SignInAsync(context, user, methods, returnUrl, sessionId: null);
        return returnUrl;
    }

    /// <summary>
    /// Records a refused sign-in (signin.failed with its reason) before the page answers; the department app is the one
    /// of the authorize request being resumed (<paramref name="returnUrl"/>), as for a success.
    /// </summary>
    public async Task FailedAsync(HttpContext context, ApplicationUser? user, string reason, string returnUrl, string? method = null, bool stepUp = false)
    {
        var client = await policies.FindAsync(AuthorizeEndpoint.ClientIdOf(returnUrl), context.RequestAborted);
        await audit.WriteAsync(user is null ? new AuditActor("user", "anonymous", null) : AuditActor.User(user.Id, user.UserName),
            new SignInFailed(user?.Id, reason, client?.ClientId, client?.DepartmentCode, method, stepUp));
    }

    /// <summary>Issues the SSO cookie. A step-up keeps the session id; a new sign-in gets a new one.</summary>
    public async Task SignInAsync(HttpContext context, ApplicationUser user, IEnumerable<string> methods, string returnUrl, string? sessionId)
    {
        var normalized = AuthenticationMethods.Normalize(methods);
        var session = new SessionFacts(
            SessionId: sessionId ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(),
            AuthenticatedAt: clock.GetUtcNow(),
            Methods: normalized);
        var properties = new AuthenticationProperties();
        // Marks this login as performed for this authorize request (prompt=login / max_age).
        properties.Items[AuthorizeEndpoint.LoginForProperty] = AuthorizeEndpoint.HashReturnUrl(returnUrl);
        if (sessionId is null)
        {
            properties.Items[Sessions.SessionCookieEvents.NewSessionProperty] = session.SessionId;
        }

        // One transaction for the sign-in's writes: the session row (written by the cookie's signing-in event,
        // SessionCookieEvents), with session.started, signin.succeeded and a new browser's known-device row added to
        // the same unit of work before it (docs/benchmarks.md, the signin scenario).
        var sighting = await devices.SightAsync(context, user, context.RequestAborted);
        if (sessionId is null)
        {
            // signin.succeeded names the department app the person came from (the authorize request being resumed).
            var client = await policies.FindAsync(AuthorizeEndpoint.ClientIdOf(returnUrl), context.RequestAborted);
            audit.Add(AuditActor.User(user.Id, user.UserName),
                new SignInSucceeded(user.Id, client?.ClientId, client?.DepartmentCode, session.SessionId, session.Methods));
        }

        // A new browser of an account that has signed in elsewhere before: its audit event and the message-centre entry
        // go into the same transaction (the SMS copy, if any, only after it commits).
        var newDeviceWithSignIn = sighting is { AddedWithSignIn: true, HadOthers: true };
        if (newDeviceWithSignIn)
        {
            events.Add(AccountAction.NewDeviceSignIn, user.Id);
            events.AddAlert(user, SecurityMessageKind.NewDeviceSignIn, KnownDevices.Describe(context));
        }

        // Completed for a local authorization request: the same HTTP request may answer it (Hosting/AuthorizeAfterSignIn).
        Hosting.AuthorizeAfterSignIn.Mark(context, returnUrl);
        await signInManager.SignInWithClaimsAsync(user, properties, session.ToClaims());
        if (db.ChangeTracker.HasChanges())
        {
            // Whatever the session store did, nothing of the above stays unsaved.
            await db.SaveChangesAsync(context.RequestAborted);
        }

        await PendingSignIn.ClearAsync(context);
        await signInManager.UserManager.ResetAccessFailedCountAsync(user);

        if (sessionId is not null)
        {
            await events.RecordAsync(AccountAction.StepUpSucceeded, user.Id, string.Join(' ', normalized));
        }

        if (newDeviceWithSignIn)
        {
            // Not cancelled with the request: the owner is told of the new device even if the browser went away.
            await events.SendAlertAsync(user, SecurityMessageKind.NewDeviceSignIn, KnownDevices.Describe(context), CancellationToken.None);
        }
        else if (!sighting.AddedWithSignIn && await devices.RememberAsync(sighting, user, context.RequestAborted))
        {
            await events.RecordAsync(AccountAction.NewDeviceSignIn, user.Id);
            await events.AlertAsync(user, SecurityMessageKind.NewDeviceSignIn, KnownDevices.Describe(context));
        }
    }
}
