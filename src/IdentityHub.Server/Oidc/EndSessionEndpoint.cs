using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
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
/// </summary>
public static class EndSessionEndpoint
{
    public const string ConfirmField = "ih_confirm";

    public static async Task<IResult> HandleAsync(HttpContext context, SignInManager<ApplicationUser> signInManager, IAntiforgery antiforgery,
        ClientPolicies policies, SubjectIdentifiers subjects, IAuditLog audit)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var cookie = await context.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        if (cookie.Succeeded)
        {
            var hint = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            // The hint's sub is the one its client sees (public or pairwise).
            var hintClient = await policies.FindAsync(hint.Principal?.GetAudiences().FirstOrDefault(), context.RequestAborted);
            var hintUser = await subjects.FindUserAsync(hint.Principal?.GetClaim(Claims.Subject), hintClient, context.RequestAborted);
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
            await audit.WriteAsync(AuditActor.User(userId, cookie.Principal!.Identity?.Name),
                new SignedOut(userId, cookie.Principal.FindFirst(HubClaims.SessionId)?.Value, client?.ClientId, client?.DepartmentCode, "client"));
            await signInManager.SignOutAsync();
        }

        // Redirects to the validated post_logout_redirect_uri (with state), or to our signed-out page.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/Account/Logout?signedOut=true" },
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
