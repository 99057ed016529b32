using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The authorization endpoint (OIDC Core section 3.1.2). OpenIddict has already validated the client,
/// the exact redirect_uri, PKCE and the scopes; this decides whether the person must sign in (again)
/// and builds the identity the code stands for, under the client's registry policy (assurance level,
/// subject type, claim release, consent).
/// </summary>
public static class AuthorizeEndpoint
{
    /// <summary>Authentication property the sign-in page sets: which authorize request a fresh login was made for.</summary>
    public const string LoginForProperty = "ih.login_for";

    public const string UnmetAuthenticationRequirements = "unmet_authentication_requirements";

    public static async Task<IResult> HandleAsync(
        HttpContext context,
        UserManager<ApplicationUser> users,
        SignInManager<ApplicationUser> signInManager,
        ClaimsFactory claims,
        IOptions<OidcOptions> options,
        ClientPolicies policies,
        SubjectIdentifiers subjects,
        ConsentGate consent,
        SessionService sessions)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var cookie = await context.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        var session = cookie.Succeeded ? SessionFacts.From(cookie.Principal) : null;
        var user = session is null ? null : await users.GetUserAsync(cookie.Principal!);
        if (user is not null && (!await signInManager.CanSignInAsync(user) || await users.IsLockedOutAsync(user)))
        {
            user = null;
        }

        var returnUrl = CurrentUrl(context.Request);
        if (user is null || session is null || MustSignInAgain(request, session, cookie.Properties, returnUrl, options.Value))
        {
            // OIDC Core section 3.1.2.1: prompt=none must not show any page.
            if (request.HasPromptValue(PromptValues.None))
            {
                return OidcResults.Forbid(Errors.LoginRequired, "The user is not signed in.");
            }

            return Results.Challenge(new AuthenticationProperties { RedirectUri = returnUrl }, [IdentityConstants.ApplicationScheme]);
        }

        // RejectInactiveClients has refused disabled clients and suspended departments already.
        var client = await policies.FindAsync(request.ClientId, context.RequestAborted)
            ?? throw new InvalidOperationException("The client of a validated request is unknown.");
        if (AssuranceLevels.Of(user) < client.MinimumAssuranceLevel)
        {
            // OpenID Connect Core 1.0 Unmet Authentication Requirements 1.0: the OP cannot authenticate the
            // person at the level the client requires (the verification issue brings higher levels).
            return OidcResults.Forbid(UnmetAuthenticationRequirements,
                $"The client requires identity assurance level L{client.MinimumAssuranceLevel}; the account has not reached it.");
        }

        var subject = await subjects.SubjectForAsync(user.Id, client, context.RequestAborted);
        var identity = claims.CreateUserIdentity(user, request.GetScopes(), session, Audiences(request, options.Value), client, subject);
        if (await consent.CheckAsync(request, identity, subject, returnUrl, context.RequestAborted) is { } consentAnswer)
        {
            return consentAnswer;
        }

        // The app joins the SSO session: it is told when the session ends, and its tokens end with it.
        await sessions.JoinAsync(session.SessionId, client, subject, Issuer(context), identity, context.RequestAborted);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>RFC 8707 resource indicators if the client gave any, else the default audience (RFC 9068 section 3).</summary>
    internal static IEnumerable<string> Audiences(OpenIddictRequest request, OidcOptions options)
    {
        var resources = request.GetResources();
        return resources.IsDefaultOrEmpty ? [options.DefaultAudience] : resources;
    }

    /// <summary>
    /// prompt=login and max_age (OIDC Core section 3.1.2.1) ask for a new authentication. A login counts
    /// as new for this request only if the sign-in page performed it for this very request, recently.
    /// </summary>
    private static bool MustSignInAgain(OpenIddictRequest request, SessionFacts session, AuthenticationProperties? properties,
        string returnUrl, OidcOptions options)
    {
        var age = DateTimeOffset.UtcNow - session.AuthenticatedAt;
        var forced = request.HasPromptValue(PromptValues.Login)
            || (request.MaxAge is long maxAge && age > TimeSpan.FromSeconds(maxAge));
        if (!forced)
        {
            return false;
        }

        var loginFor = properties?.Items.TryGetValue(LoginForProperty, out var value) == true ? value : null;
        return !(loginFor == HashReturnUrl(returnUrl) && age <= options.ForcedLoginWindow);
    }

    /// <summary>The issuer OpenIddict puts in this request's tokens: the configured one, or the request's base URI (Development).</summary>
    internal static string Issuer(HttpContext context)
    {
        var transaction = context.Features.Get<OpenIddictServerAspNetCoreFeature>()?.Transaction
            ?? throw new InvalidOperationException("No OpenIddict transaction on an OpenID Connect endpoint.");
        return (transaction.Options.Issuer ?? transaction.BaseUri
            ?? throw new InvalidOperationException("OpenIddict resolved no issuer.")).AbsoluteUri;
    }

    public static string HashReturnUrl(string returnUrl) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(returnUrl)));

    /// <summary>The authorize request as a GET URL, whether it arrived as GET or as a form POST.</summary>
    private static string CurrentUrl(HttpRequest request)
    {
        var parameters = request.HasFormContentType
            ? request.Form.Select(p => KeyValuePair.Create(p.Key, p.Value))
            : request.Query.Select(p => KeyValuePair.Create(p.Key, p.Value));
        return request.PathBase + request.Path + QueryString.Create(parameters);
    }
}
