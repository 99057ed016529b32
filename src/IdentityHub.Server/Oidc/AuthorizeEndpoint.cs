using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
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

    /// <summary>Added to the authorize URL by the verification page when the person declines to reach the required level.</summary>
    public const string StepUpParameter = "ih_stepup";

    public static async Task<IResult> HandleAsync(
        HttpContext context,
        UserManager<ApplicationUser> users,
        SignInManager<ApplicationUser> signInManager,
        ClaimsFactory claims,
        IOptions<OidcOptions> options,
        ClientPolicies policies,
        SubjectIdentifiers subjects,
        ConsentGate consent,
        AgentMandates mandates,
        SessionService sessions,
        // A service: RealNameService has a BindAsync method of its own, which minimal APIs would take for a binder.
        [FromServices] RealNameService realNames)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var cookie = await context.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        var session = cookie.Succeeded ? SessionFacts.From(cookie.Principal) : null;
        // The account and its real-name record in one round trip: the claims below are built from the same read.
        // After a sign-in in this same HTTP request (Hosting/AuthorizeAfterSignIn), the account it read, if it can be taken.
        var person = session is null ? null : await realNames.FindPersonByIdAsync(users.GetUserId(cookie.Principal!), context.RequestAborted,
            Hosting.AuthorizeAfterSignIn.TakeSignedInPerson(context));
        var user = person?.User;
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

        // Step-up: a single-factor session asked for multi-factor (acr_values or the client's requirement).
        if (!AuthenticationMethods.IsMultiFactor(session.Methods) && MultiFactorRequirement.IsRequired(request, client))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return OidcResults.Forbid(Errors.InteractionRequired, "Multi-factor authentication is required.");
            }

            return Results.Redirect(SignInCompletion.SecondFactorPath + QueryString.Create("ReturnUrl", returnUrl));
        }

        var required = AssuranceRequirement.Of(request, client);
        if (AssuranceLevels.Of(user) < required)
        {
            // Step-up: the verification page raises the level and returns here. OpenID Connect Core 1.0
            // Unmet Authentication Requirements 1.0 when no page may be shown (prompt=none) or the person declined.
            if (request.HasPromptValue(PromptValues.None) || RawParameter(context.Request, StepUpParameter) == "declined")
            {
                return OidcResults.Forbid(UnmetAuthenticationRequirements,
                    $"The request requires {AssuranceRequirement.Describe(required)}; the account has not reached it.");
            }

            return Results.Redirect("/Account/Verify" + QueryString.Create(
                [KeyValuePair.Create("ReturnUrl", (string?)returnUrl), KeyValuePair.Create("required", (string?)required.ToString(System.Globalization.CultureInfo.InvariantCulture))]));
        }

        var (acting, chooser) = await ActingChoice.ResolveAsync(request, RawParameter(context.Request, ActingChoice.Parameter), client, user, mandates,
            returnUrl, context.RequestAborted);
        if (chooser is not null)
        {
            return chooser;
        }

        var subject = await subjects.SubjectForAsync(user.Id, client, context.RequestAborted);
        // ValidateClaimsParameter has refused a malformed claims parameter already.
        ClaimsRequest.TryParse((string?)request[ClaimsRequest.Parameter], out var claimsRequest, out _);
        // Explicit-consent clients, and every client that sends prompt=consent, go through the consent page (ConsentGate).
        var identity = claims.CreateUserIdentity(person!, request.GetScopes(), session, Audiences(request, options.Value), client, subject,
            claimsRequest, acting);
        if (await consent.CheckAsync(request, identity, subject, returnUrl, context.RequestAborted) is { } consentAnswer)
        {
            return consentAnswer;
        }

        if (acting is not null)
        {
            await mandates.RecordActingAsync(user, acting, client.ClientId, context.RequestAborted);
        }

        // The app joins the SSO session: it is told when the session ends, and its tokens end with it.
        // With a code in the answer, the authorization and participant are saved with the code's entry (SessionService.JoinAsync).
        var staged = await sessions.JoinAsync(session.SessionId, client, subject, Issuer(context), identity, context.RequestAborted,
            savedWithCode: options.Value.AdHocAuthorizationWithCode && request.HasResponseType(ResponseTypes.Code)
                && CodeEntrySavedThroughDbContext(context));
        var signIn = Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        return staged is null ? signIn : new UnstageOnFailure(signIn, staged);
    }

    /// <summary>
    /// Whether the code's token entry is saved through the request's DbContext (CodeEntryInOneInsert, or OpenIddict's
    /// CreateTokenEntry): not with token storage off or in degraded mode, where nothing would save the staged
    /// authorization and participant.
    /// </summary>
    private static bool CodeEntrySavedThroughDbContext(HttpContext context)
    {
        return Handlers.CodeEntryInOneInsert.SavesThroughDbContext(
            context.RequestServices.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue);
    }

    /// <summary>The sign-in, whose code's save also inserts the staged authorization and participant; unstaged if it fails.</summary>
    private sealed class UnstageOnFailure(IResult signIn, StagedJoin staged) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                await signIn.ExecuteAsync(httpContext);
            }
            catch
            {
                staged.Unstage();
                throw;
            }
        }
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

    /// <summary>
    /// A parameter our own pages add to the authorize URL (step-up declined, acting choice), read from the HTTP request
    /// itself: with a pushed authorization request (RFC 9126) OpenIddict's request holds the pushed parameters only.
    /// </summary>
    internal static string? RawParameter(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var fromQuery) ? fromQuery.ToString()
        : request.HasFormContentType && request.Form.TryGetValue(name, out var fromForm) ? fromForm.ToString()
        : null;

    /// <summary>The client_id of the authorize request a local return URL resumes (our sign-in pages' ReturnUrl), if any.</summary>
    public static string? ClientIdOf(string localReturnUrl)
    {
        var q = localReturnUrl.IndexOf('?', StringComparison.Ordinal);
        // ParseQuery returns a plain dictionary: its indexer throws for a missing key.
        return q >= 0 && Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(localReturnUrl[q..]).TryGetValue("client_id", out var value)
            && value.ToString() is { Length: > 0 } id ? id : null;
    }

    /// <summary>The authorize request as a GET URL, whether it arrived as GET or as a form POST.</summary>
    private static string CurrentUrl(HttpRequest request)
    {
        var parameters = request.HasFormContentType
            ? request.Form.Select(p => KeyValuePair.Create(p.Key, p.Value))
            : request.Query.Select(p => KeyValuePair.Create(p.Key, p.Value));
        return request.PathBase + request.Path + QueryString.Create(parameters);
    }
}
