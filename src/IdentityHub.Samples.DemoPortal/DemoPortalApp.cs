using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace IdentityHub.Samples.DemoPortal;

/// <summary>Section "Oidc": where IdentityHub is and who this portal is there.</summary>
public sealed class PortalOidcOptions
{
    public const string Section = "Oidc";

    /// <summary>IdentityHub's issuer URL. Default http://localhost:5000 (the server's development URL).</summary>
    public string Authority { get; set; } = "http://localhost:5000";

    public string ClientId { get; set; } = "demo-portal";

    /// <summary>The client secret IdentityHub issued. Keep real ones out of appsettings (user secrets, environment variables).</summary>
    public string ClientSecret { get; set; } = "demo-portal-secret-for-development-only";

    /// <summary>Scopes asked for, space-separated. Default "openid profile phone offline_access".</summary>
    public string Scopes { get; set; } = "openid profile phone offline_access";

    /// <summary>
    /// An OIDC claims request parameter (OIDC Core section 5.5) sent with every sign-in, for example verified_claims
    /// (OpenID Identity Assurance). Optional.
    /// </summary>
    public string? ClaimsRequest { get; set; }

    /// <summary>acr_values sent with every sign-in, e.g. urn:identityhub:ial:L2. Optional.</summary>
    public string? AcrValues { get; set; }

    /// <summary>
    /// True when IdentityHub is reached over plain http on this machine (localhost, 127.0.0.0/8, [::1]):
    /// the only case where the portal accepts http metadata. Any other http authority is refused.
    /// </summary>
    public bool IsLocalDevelopmentAuthority =>
        Uri.TryCreate(Authority, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
}

/// <summary>
/// A department web app that signs people in with IdentityHub: the framework's cookie handler keeps
/// the local session, its OpenID Connect handler does the authorization code flow with PKCE, and
/// <see cref="BackChannelLogout"/> ends the local session when IdentityHub's session ends.
/// </summary>
public static class DemoPortalApp
{
    /// <summary>Key of the authentication property that keeps the raw userinfo response for the profile page.</summary>
    public const string UserInfoItem = "demo-portal.userinfo";

    /// <summary>
    /// Builds the portal. <paramref name="configure"/> runs right after the builder is created, before
    /// anything reads configuration: tests use it to set URLs and the authority.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // The Razor pages live in this assembly, also when a test process hosts the portal.
            ApplicationName = typeof(DemoPortalApp).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);

        var oidc = builder.Configuration.GetSection(PortalOidcOptions.Section).Get<PortalOidcOptions>() ?? new();
        var portal = builder.Configuration.GetSection(PortalOptions.Section).Get<PortalOptions>() ?? new();
        var localDevelopment = oidc.IsLocalDevelopmentAuthority;
        builder.Services.Configure<PortalOptions>(builder.Configuration.GetSection(PortalOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PortalSessions>();
        builder.Services.AddMemoryCache();

        // Several portals may run on one host name (localhost:5002, 5003, 5004), and cookies are not separated by
        // port: each portal's cookies and keys are its own.
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName(oidc.ClientId);
        if (!string.IsNullOrEmpty(portal.KeyDirectory))
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(portal.KeyDirectory));
        }

        builder.Services.AddAntiforgery(options => options.Cookie.Name = oidc.ClientId + ".antiforgery");

        builder.Services.AddRazorPages(options => options.Conventions.AuthorizePage("/Profile"));
        // Render Chinese as characters, not as numeric entities.
        builder.Services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(options =>
            options.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));

        builder.Services.AddAuthentication(options =>
            {
                options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            })
            .AddCookie(options =>
            {
                // The portal and IdentityHub may share a host name (localhost:5002 and localhost:5000):
                // cookies are not separated by port, so the portal's cookie has a name of its own.
                options.Cookie.Name = oidc.ClientId + ".session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Events.OnSigningIn = context =>
                {
                    // The local session is known by IdentityHub's sid (the ID token's), which logout tokens name.
                    if (context.Principal?.FindFirst("sid")?.Value is { } sid)
                    {
                        context.HttpContext.RequestServices.GetRequiredService<PortalSessions>()
                            .SignedIn(sid, context.Principal.FindFirst("sub")?.Value);
                    }

                    return Task.CompletedTask;
                };
                options.Events.OnValidatePrincipal = async context =>
                {
                    // A cookie of a session that IdentityHub ended (back-channel logout) is refused from the next request on.
                    var sessions = context.HttpContext.RequestServices.GetRequiredService<PortalSessions>();
                    if (sessions.HasEnded(context.Principal?.FindFirst("sid")?.Value))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            })
            .AddOpenIdConnect(options =>
            {
                options.Authority = oidc.Authority;
                options.ClientId = oidc.ClientId;
                options.ClientSecret = oidc.ClientSecret;
                options.RequireHttpsMetadata = !localDevelopment;

                options.ResponseType = OpenIdConnectResponseType.Code;
                options.UsePkce = true;
                options.SaveTokens = true;
                options.GetClaimsFromUserInfoEndpoint = true;
                options.MapInboundClaims = false;
                options.TokenValidationParameters.NameClaimType = "name";
                options.TokenValidationParameters.RoleClaimType = "role";

                options.Scope.Clear();
                foreach (var scope in oidc.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    options.Scope.Add(scope);
                }

                options.Events.OnRedirectToIdentityProvider = context =>
                {
                    if (!string.IsNullOrEmpty(oidc.ClaimsRequest))
                    {
                        context.ProtocolMessage.SetParameter("claims", oidc.ClaimsRequest);
                    }

                    if (!string.IsNullOrEmpty(oidc.AcrValues))
                    {
                        context.ProtocolMessage.AcrValues = oidc.AcrValues;
                    }

                    return Task.CompletedTask;
                };

                // An error answer (access_denied, unmet_authentication_requirements, ...) is shown on the home page.
                options.Events.OnRemoteFailure = context =>
                {
                    context.Response.Redirect("/?error=" + Uri.EscapeDataString(context.Failure?.Message ?? "sign-in failed"));
                    context.HandleResponse();
                    return Task.CompletedTask;
                };

                // Keep the OIDC claim names of userinfo on the signed-in principal as well.
                options.ClaimActions.MapUniqueJsonKey("preferred_username", "preferred_username");
                options.ClaimActions.MapUniqueJsonKey("phone_number", "phone_number");
                options.ClaimActions.MapUniqueJsonKey("phone_number_verified", "phone_number_verified");

                if (localDevelopment)
                {
                    // Over plain http a browser refuses SameSite=None cookies (they must be Secure).
                    // Lax still reaches the portal on the form_post back from IdentityHub, because both
                    // run on the same host (same site); in production, over https, the defaults stay.
                    options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                    options.CorrelationCookie.SameSite = SameSiteMode.Lax;
                    options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                    options.NonceCookie.SameSite = SameSiteMode.Lax;
                }

                options.Events.OnUserInformationReceived = context =>
                {
                    // Kept in the session cookie only to show it on the profile page.
                    context.Properties!.Items[UserInfoItem] = context.User.RootElement.GetRawText();
                    return Task.CompletedTask;
                };
            });
        builder.Services.AddAuthorization();

        var app = builder.Build();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error");
            app.UseHsts();
        }

        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapRazorPages();
        app.MapBackChannelLogout();
        return app;
    }
}
