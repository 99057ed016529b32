using System.Security.Claims;
using System.Text.Encodings.Web;
using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OpenIddict.Server.AspNetCore;

namespace IdentityHub.Server.Hosting;

/// <summary>
/// A sign-in that completes for a local authorization request answers that request itself (Accounts:AnswerAuthorizeAfterSignIn):
/// instead of a 302 back to /connect/authorize, which the browser would follow at once, the same HTTP request goes on as
/// that GET through the whole pipeline again (error pages, localization, routing, authentication, rate limiting,
/// OpenIddict's extraction and validation, <see cref="Oidc.AuthorizeEndpoint"/>), in a fresh DI scope, so every check of a
/// direct authorize request is made. Its answer (the code redirect, form_post HTML, a redirect to consent, step-up or the
/// acting choice, an error) replaces the sign-in's 302; the cookies the sign-in set stay in it.
/// <para>
/// The replay sees the session through the ticket the cookie handler has just issued in this request (captured in its
/// SignedIn event, server-side; nothing the client sends selects it), not through a cookie: the browser's request carries
/// none or a previous one. That ticket passes what the cookie's validation would check: it has just been issued (not
/// expired; Identity's security stamp check is due only after Accounts:SecurityStampValidationInterval from issue, and
/// the stamp was read with the account in this request), and its session row was written by its SigningIn event in this
/// request (SessionCookieEvents), so the session check is spared with the cookie's decryption.
/// </para>
/// </summary>
public sealed partial class AuthorizeAfterSignIn(RequestDelegate next, IOptionsMonitor<AccountOptions> options, IServiceScopeFactory scopes,
    ILogger<AuthorizeAfterSignIn> logger)
{
    /// <summary>The authorization endpoint's path (OidcEndpoints), followed by its query: what our sign-in pages return to.</summary>
    public const string AuthorizeUrlPrefix = "/connect/authorize?";

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        // Only a sign-in's redirect (a form POST answered 302, marked by the sign-in) can be one.
        if (context.Response.StatusCode != StatusCodes.Status302Found || !HttpMethods.IsPost(context.Request.Method)
            || context.Response.HasStarted
            || context.Features.Get<SignInFeature>() is not { ReturnUrl: { } returnUrl, Issued: { } ticket, Replay: null } signIn
            || context.Response.Headers.Location != returnUrl
            || !options.CurrentValue.AnswerAuthorizeAfterSignIn)
        {
            return;
        }

        // Only a query a browser would send as it is (RFC 3986 section 3.4): anything else (spaces, controls, non-ASCII that
        // IsLocalUrl lets through) gets the 302, which the browser encodes before it follows it.
        if (returnUrl.AsSpan(AuthorizeUrlPrefix.Length).IndexOfAnyExcept(QueryCharacters) >= 0)
        {
            return;
        }

        signIn.Replay = ticket;
        // The account the sign-in read, taken from its unit of work now that the page has saved everything (the sign-in's
        // scope, still this request's), for the replay's authorization endpoint.
        signIn.Person = options.CurrentValue.AuthorizeReusesSignInAccount
            ? context.RequestServices.GetService<AccountLookup>()?.SignedInPerson()
            : null;
        await ReplayAsync(context, returnUrl);
    }

    /// <summary>RFC 3986 query characters: unreserved, percent-encoded, sub-delims, ':', '@', '/' and '?'.</summary>
    private static readonly System.Buffers.SearchValues<char> QueryCharacters = System.Buffers.SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/?");

    /// <summary>
    /// Called by <see cref="Factors.SignInCompletion"/> when it issues the cookie: the sign-in's return URL, if it is a local
    /// authorization request. Answered by the replay only if the page then redirects there (no further step).
    /// </summary>
    public static void Mark(HttpContext context, string returnUrl)
    {
        if (returnUrl.StartsWith(AuthorizeUrlPrefix, StringComparison.Ordinal))
        {
            Feature(context).ReturnUrl = returnUrl;
        }
    }

    /// <summary>In the replay only: the ticket of the cookie this request issued.</summary>
    internal static AuthenticationTicket? ReplayTicket(HttpContext context) => context.Features.Get<SignInFeature>()?.Replay;

    /// <summary>
    /// In the replay only, once: the person the sign-in read (<see cref="AccountLookup.SignedInPerson"/>,
    /// Accounts:AuthorizeReusesSignInAccount), for the authorization endpoint's account read; null otherwise.
    /// </summary>
    public static Identity.RealName.Person? TakeSignedInPerson(HttpContext context)
    {
        if (context.Features.Get<SignInFeature>() is not { Replay: not null, Person: { } person } signIn)
        {
            return null;
        }

        signIn.Person = null;
        return person;
    }

    private static SignInFeature Feature(HttpContext context)
    {
        if (context.Features.Get<SignInFeature>() is not { } feature)
        {
            context.Features.Set(feature = new SignInFeature());
        }

        return feature;
    }

    /// <summary>This request's sign-in (a feature, not HttpContext.Items: looked up on every request without allocating).</summary>
    private sealed class SignInFeature
    {
        /// <summary>The local authorization request the sign-in was made for.</summary>
        public string? ReturnUrl { get; set; }

        /// <summary>The ticket the sign-in cookie's handler issued in this request (null again if it signed out after).</summary>
        public AuthenticationTicket? Issued { get; set; }

        /// <summary>Set for the replay: what the sign-in cookie's handler authenticates with.</summary>
        public AuthenticationTicket? Replay { get; set; }

        /// <summary>Set for the replay: the sign-in's account, a copy (<see cref="TakeSignedInPerson"/>).</summary>
        public Identity.RealName.Person? Person { get; set; }
    }

    private async Task ReplayAsync(HttpContext context, string returnUrl)
    {
        // The answer starts again from nothing but the cookies the sign-in set (the session, the device, the pending
        // sign-in's removal): the middleware after this one add their headers again. An error page's re-execution clears
        // the headers (UseExceptionHandler): they are put back before the answer leaves, so a failed authorization still
        // leaves the person signed in, and going back to the app retries it.
        var cookies = context.Response.Headers.SetCookie;
        context.Response.Clear();
        context.Response.Headers.SetCookie = cookies;
        context.Response.OnStarting(KeepCookies, (context, cookies));

        // The request becomes the GET the browser would have sent: no body, no form, no endpoint or route chosen yet.
        var request = context.Request;
        request.Method = HttpMethods.Get;
        request.Path = returnUrl[..(AuthorizeUrlPrefix.Length - 1)];
        request.QueryString = new QueryString(returnUrl[(AuthorizeUrlPrefix.Length - 1)..]);
        if (context.Features.Get<IHttpRequestFeature>() is { } target)
        {
            // What the request logs and anything reading the raw target see: the replayed GET's, not the form post's.
            target.RawTarget = returnUrl;
        }

        request.ContentType = null;
        request.ContentLength = null;
        request.Body = Stream.Null;
        context.Features.Set<IFormFeature>(null);
        context.SetEndpoint(null);
        if (context.Features.Get<IRouteValuesFeature>() is { } routeValues)
        {
            routeValues.RouteValues = null!;
        }

        // OpenIddict reuses a transaction it finds in the features ("when replaying an ASP.NET Core request"): the sign-in
        // page's is not this request's. The sign-in pass's authentication result is not this one's either.
        context.Features.Set<OpenIddictServerAspNetCoreFeature>(null);
        context.Features.Set<IAuthenticateResultFeature>(null);
        context.Features.Set<IHttpAuthenticationFeature>(null);
        context.User = new ClaimsPrincipal(new ClaimsIdentity());

        // A fresh scope: the authentication handlers cache their results per scope, the DbContext its tracked entities.
        // Disposed with the response (callbacks registered in the replay may still use it when the answer starts).
        var scope = scopes.CreateAsyncScope();
        context.Response.RegisterForDisposeAsync(scope);
        context.RequestServices = scope.ServiceProvider;
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            // The sign-in is saved: answer what the sign-in would have answered without the replay (the 302 to the
            // authorization request, with its cookies), so that the browser keeps the session and retries by itself.
            LogReplayFailed(logger, e);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status302Found;
            context.Response.Headers.Location = returnUrl;
            context.Response.Headers.SetCookie = cookies;
            context.Response.Headers.CacheControl = "no-cache,no-store";
        }
    }

    [LoggerMessage(EventId = 9201, Level = LogLevel.Error, Message = "Answering the authorization request after a sign-in failed; answered with the redirect to it instead.")]
    private static partial void LogReplayFailed(ILogger logger, Exception exception);

    private static Task KeepCookies(object state)
    {
        var (context, cookies) = ((HttpContext, StringValues))state;
        // The answer carries a new session cookie: never cached (the cookie handler's own headers went with Clear()).
        context.Response.Headers.CacheControl = "no-cache,no-store";
        context.Response.Headers.Pragma = "no-cache";
        var current = context.Response.Headers.SetCookie;
        var missing = cookies.Where(cookie => !current.Contains(cookie)).ToArray();
        if (missing.Length > 0)
        {
            context.Response.Headers.SetCookie = StringValues.Concat(new StringValues(missing), current);
        }

        return Task.CompletedTask;
    }

    /// <summary>The sign-in cookie's events: the ticket it issues is kept for the replay (and forgotten if signed out again).</summary>
    public static void Attach(CookieAuthenticationOptions cookie)
    {
        var events = cookie.Events ?? new CookieAuthenticationEvents();
        var signedIn = events.OnSignedIn;
        var signingOut = events.OnSigningOut;
        events.OnSignedIn = context =>
        {
            Feature(context.HttpContext).Issued = new AuthenticationTicket(context.Principal!, context.Properties, context.Scheme.Name);
            return signedIn(context);
        };
        events.OnSigningOut = context =>
        {
            if (context.HttpContext.Features.Get<SignInFeature>() is { } signIn)
            {
                signIn.Issued = null;
                signIn.Replay = null;
                signIn.Person = null;
            }

            return signingOut(context);
        };
        cookie.Events = events;
    }

    public static IServiceCollection Register(IServiceCollection services)
    {
        services.ConfigureApplicationCookie(Attach);
        services.AddTransient<SignedInCookieHandler>();
        // After AddIdentity's AddCookie (AddIdentityHubIdentity runs first): its scheme's handler, with the replay's ticket.
        services.Configure<AuthenticationOptions>(authentication =>
            authentication.SchemeMap[IdentityConstants.ApplicationScheme].HandlerType = typeof(SignedInCookieHandler));
        return services;
    }

    /// <summary>
    /// The sign-in cookie's handler: in the replay, every authentication of the scheme (UseAuthentication's, the
    /// endpoint's, a page's) gets the ticket this request issued; otherwise the cookie as always.
    /// </summary>
    internal sealed class SignedInCookieHandler(IOptionsMonitor<CookieAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : CookieAuthenticationHandler(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            ReplayTicket(Context) is { } ticket && ticket.AuthenticationScheme == Scheme.Name
                ? Task.FromResult(AuthenticateResult.Success(ticket))
                : base.HandleAuthenticateAsync();
    }
}
