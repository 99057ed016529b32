using System.Net;
using IdentityHub.Server.Api;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.HttpOverrides;
using IdentityHub.Server.Scale;

namespace IdentityHub.Server.Hosting;

public static class WebExtensions
{
    public static WebApplicationBuilder AddIdentityHubWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddLocalization(options => options.ResourcesPath = "Resources");
        services.AddRazorPages()
            .AddViewLocalization()
            .AddDataAnnotationsLocalization(options =>
                options.DataAnnotationLocalizerProvider = (_, factory) => factory.Create(typeof(SharedResource)));
        // Render Chinese as characters, not as numeric entities.
        services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(options =>
            options.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddAdminApi();
        AuthorizeAfterSignIn.Register(services);

        // The key ring protects the sign-in cookie, antiforgery tokens, TOTP secrets and database signing keys; it
        // lives with the data so that a restart keeps people signed in. In shared mode every node needs the same ring:
        // it is kept in the database (durable and backed up; Redis holds nothing that cannot be lost, and losing the
        // ring would lose every protected secret), still encrypted with the encryption certificate (OidcExtensions).
        var database = builder.Configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new();
        var dataProtection = services.AddDataProtection().SetApplicationName("IdentityHub");
        if (builder.Configuration.IsSharedMode())
        {
            dataProtection.PersistKeysToDbContext<IdentityHubDbContext>();
        }
        else
        {
            dataProtection.PersistKeysToFileSystem(
                new DirectoryInfo(Path.Combine(DataExtensions.ResolveDataDirectory(builder.Environment, database), "keys")));
        }

        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var proxy in builder.Configuration.GetSection("Hosting:TrustedProxies").Get<string[]>() ?? [])
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });

        return builder;
    }

    public static WebApplication UseIdentityHubWeb(this WebApplication app)
    {
        if (app.Configuration.GetValue<bool>("Hosting:BehindTlsProxy"))
        {
            app.UseForwardedHeaders();
        }

        // A sign-in for a local authorization request answers it in the same HTTP request (Accounts:AnswerAuthorizeAfterSignIn):
        // the replay goes through everything below again, HSTS, error pages, authentication and rate limits included.
        app.UseMiddleware<AuthorizeAfterSignIn>();

        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }

        // Discovery and JWKS are the same for every request of an origin: served from memory (after the
        // forwarded headers, which decide the origin, and HSTS, which adds its header to every answer).
        app.UseMiddleware<IdentityHub.Server.Oidc.MetadataResponseCache>();

        // APIs answer errors with RFC 9457 problem details; pages with a friendly localised page.
        // Neither shows a stack trace.
        app.UseWhen(IsApi, api =>
        {
            api.UseExceptionHandler();
            api.UseStatusCodePages();
        });
        app.UseWhen(context => !IsApi(context), ui =>
        {
            ui.UseExceptionHandler("/Error");
            ui.UseStatusCodePagesWithReExecute("/Error", "?status={0}");
        });

        // Inside the error handlers: protocol metrics see every outcome, and a database outage becomes a 503.
        app.UseMiddleware<IdentityHub.Server.Operations.ProtocolMetrics>();
        app.UseMiddleware<IdentityHub.Server.Operations.DatabaseUnavailable>();
        // A form ASP.NET Core cannot read (a NUL, a value over the limits) is a 400, not an exception further in.
        app.UseMiddleware<MalformedForms>();

        // The protocol endpoints that answer JSON (token, introspection, revocation, userinfo, PAR, discovery,
        // JWKS) and the admin API show no localised text (OpenIddict's messages are English only), so they
        // skip the culture negotiation; it also spares OpenIddict's log-message lookups the zh-CN resource
        // fallback on every request. Pages, the authorization and end-session endpoints and re-executed
        // error pages keep it.
        app.UseWhen(context => !IsMachineEndpoint(context), ui => ui.UseRequestLocalization(Localization.Options()));
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    internal static bool IsMachineEndpoint(HttpContext context)
    {
        var path = context.Request.Path;
        return IsApi(context)
            || path.StartsWithSegments("/.well-known")
            || path.StartsWithSegments("/connect/token")
            || path.StartsWithSegments("/connect/introspect")
            || path.StartsWithSegments("/connect/revoke")
            || path.StartsWithSegments("/connect/userinfo")
            || path.StartsWithSegments("/connect/par")
            || path.StartsWithSegments("/health")
            || path.StartsWithSegments("/metrics");
    }

    internal static bool IsApi(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/api") || context.Request.Path.StartsWithSegments("/openapi");
}
