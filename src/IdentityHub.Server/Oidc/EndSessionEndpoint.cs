using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). OpenIddict has validated the
/// id_token_hint and that post_logout_redirect_uri is registered for the client. When the hint
/// names the signed-in person, the session ends at once; otherwise the person confirms on a page
/// (section 2: the OP should ask whether to log out), which posts back here with an antiforgery token.
/// Ending the session tells every app that took part (Sessions/: back-channel notices, and front-channel
/// iframes on the signed-out page, which then comes back here to finish the protocol redirect).
/// </summary>
public static class EndSessionEndpoint
{
    public const string ConfirmField = "ih_confirm";

    /// <summary>The RP-Initiated Logout 1.0 section 2 parameters a confirmation or a front-channel page carries back here.</summary>
    public static readonly IReadOnlySet<string> ProtocolParameters = new HashSet<string>(StringComparer.Ordinal)
    {
        "id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales", "logout_hint",
    };

    public static async Task<IResult> HandleAsync(HttpContext context, SignInManager<ApplicationUser> signInManager, IAntiforgery antiforgery,
        ClientPolicies policies, SubjectIdentifiers subjects, IAuditLog audit, SessionService sessions, FrontChannelLogout frontChannel)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var cookie = await context.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        if (cookie.Succeeded)
        {
            var hint = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            // The hint's sub is the one its client sees (public or pairwise).
            var hintClient = await policies.FindAsync(hint.Principal?.GetAudiences().FirstOrDefault(), context.RequestAborted);
            // ID tokens have no revocable row: the hint of a client that was disabled since (or whose department is
            // suspended) names nobody, so the person is asked to confirm rather than signed out on the client's word.
            var hintUser = hintClient is { CanObtainTokens: true }
                ? await subjects.FindUserAsync(hint.Principal?.GetClaim(Claims.Subject), hintClient, context.RequestAborted)
                : null;
            var hintNamesUser = hintUser is not null && hintUser.Id == signInManager.UserManager.GetUserId(cookie.Principal!);
            var confirmed = HttpMethods.IsPost(context.Request.Method)
                && context.Request.HasFormContentType
                && context.Request.Form[ConfirmField] == "yes"
                && await antiforgery.IsRequestValidAsync(context);

            if (!hintNamesUser && !confirmed)
            {
                var parameters = request.GetParameters()
                    .Select(p => KeyValuePair.Create(p.Key, (string?)p.Value.ToString()));
                return Results.Redirect("/Account/Logout" + QueryString.Create(parameters));
            }

            var userId = signInManager.UserManager.GetUserId(cookie.Principal!)!;
            var client = hintClient ?? await policies.FindAsync(request.ClientId, context.RequestAborted);
            var sessionId = SessionFacts.From(cookie.Principal!)?.SessionId;
            var actor = AuditActor.User(userId, cookie.Principal!.Identity?.Name);
            await audit.WriteAsync(actor, new SignedOut(userId, sessionId, client?.ClientId, client?.DepartmentCode, "client"));
            var ended = await sessions.EndAsync(sessionId, SessionEndReason.Logout, actor, context.RequestAborted);
            await signInManager.SignOutAsync();

            // Front-Channel Logout 1.0 section 3: the apps' iframes load first; the page then repeats this request,
            // which (signed out now) redirects to the validated post_logout_redirect_uri with state.
            var again = "/connect/endsession" + QueryString.Create(request.GetParameters()
                .Where(p => ProtocolParameters.Contains(p.Key))
                .Select(p => KeyValuePair.Create(p.Key, (string?)p.Value.ToString())));
            if (frontChannel.PageFor(ended, again) is { } page)
            {
                return Results.Redirect(page);
            }
        }

        // Redirects to the validated post_logout_redirect_uri (with state), or to our signed-out page.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/Account/Logout?signedOut=true" },
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
