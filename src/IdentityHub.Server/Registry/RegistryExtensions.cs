using OpenIddict.Abstractions;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Oidc.Handlers;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IdentityHub.Server.Registry;

public static class RegistryExtensions
{
    /// <summary>Departments, clients, secrets, claim policies, subjects and consent, and their OpenIddict hooks.</summary>
    public static WebApplicationBuilder AddIdentityHubRegistry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.Section)
            .Validate(o => o.SecretLifetime > TimeSpan.Zero, "Registry:SecretLifetime must be positive.")
            .Validate(o => o.ClientCacheLifetime >= TimeSpan.Zero && o.ClientCacheSize >= 0 && o.ClientCacheCheckInterval > TimeSpan.Zero,
                "Registry:ClientCacheLifetime and ClientCacheSize must not be negative, Registry:ClientCacheCheckInterval must be positive.")
            .ValidateOnStart();
        var development = builder.Environment.IsDevelopment();
        services.AddOptions<SubjectOptions>().BindConfiguration(SubjectOptions.Section)
            .Validate(o => development || o.PairwiseSecret is { Length: >= 32 },
                "Subjects:PairwiseSecret must be set to at least 32 random characters outside Development (it keys pairwise subjects).")
            .Validate(o => o.PairwiseSecret is null || o.PairwiseSecret.Length >= 32, "Subjects:PairwiseSecret must have at least 32 characters.")
            .ValidateOnStart();

        services.AddIdentityHubAudit();
        services.AddScoped<DepartmentRegistry>();
        services.AddScoped<ClientRegistry>();
        services.AddScoped<ClientQueries>();
        services.AddScoped<ClientSecretService>();
        services.AddScoped<ClaimPolicyService>();
        services.AddScoped<RegistryTransfer>();
        services.AddScoped<AdminUsers>();
        services.AddScoped<AdminActorResolver>();
        services.AddScoped<ClientPolicies>();
        // One node: nothing to hear from others. TryAdd: shared mode (Scale/) registers the Redis feed first.
        services.TryAddSingleton<IClientChangeFeed, LocalClientChanges>();
        services.AddSingleton<ClientCache>();
        services.AddSingleton<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor, RegistryChangeInterceptor>();
        services.AddScoped<SubjectIdentifiers>();
        services.AddSingleton<RecordedPairwiseSubjects>();
        services.AddSingleton<ClaimsPersonQueries>();
        services.AddOptions<ClaimsPersonCacheOptions>().BindConfiguration(ClaimsPersonCacheOptions.Section)
            .Validate(o => o.Lifetime >= TimeSpan.Zero && o.Size >= 0 && o.CheckInterval > TimeSpan.Zero,
                "PersonCache:Lifetime and PersonCache:Size must not be negative, PersonCache:CheckInterval must be positive.")
            .ValidateOnStart();
        // One node: nothing to hear from others. TryAdd: shared mode (Scale/) registers the Redis feed first.
        services.TryAddSingleton<IPersonChangeFeed, LocalPersonChanges>();
        services.AddSingleton<ClaimsPersonCache>();
        services.AddSingleton<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor, PersonChangeInterceptor>();
        services.AddScoped<ConsentGate>();
        services.AddScoped<IssuedGrants>();

        services.AddOpenIddict()
            // Every registry change must be seen by the next request on every node. OpenIddict's in-memory entity cache
            // cannot promise that: it forgets an application only when OpenIddict's own manager updates it on this node
            // (not registry writes through the context, secrets, departments, nor other nodes), and it hands one tracked
            // entity of a request's context to every later request. ClientCache replaces it (HubApplicationManager).
            .AddCore(core =>
            {
                core.Configure(options => options.DisableEntityCaching = true);
                // With caching disabled, no per-request MemoryCache for each manager either (DisabledEntityCache).
                foreach (var cache in new[] { typeof(IOpenIddictApplicationCache<>), typeof(IOpenIddictAuthorizationCache<>),
                             typeof(IOpenIddictScopeCache<>), typeof(IOpenIddictTokenCache<>) })
                {
                    core.Services.Replace(ServiceDescriptor.Singleton(cache, typeof(DisabledEntityCache<>)));
                }
            })
            .AddServer(server =>
            {
                server.RegisterClaims([.. ClaimCatalog.ClaimTypes]);
                server.AddEventHandler(RejectInactiveClients.TokenAuthenticationDescriptor);
                server.AddEventHandler(RejectInactiveClients.TokenDescriptor);
                server.AddEventHandler(RejectInactiveClients.AuthorizationDescriptor);
                server.AddEventHandler(AttachPairwiseSubjectType.Descriptor);
            });

        // The console needs a signed-in person (its pages then check the registry role); consent too.
        // PostConfigure: MVC's own setup replaces the convention collection when it configures the options.
        services.PostConfigure<Microsoft.AspNetCore.Mvc.RazorPages.RazorPagesOptions>(options =>
        {
            options.Conventions.AuthorizeFolder("/Admin");
            options.Conventions.AllowAnonymousToPage("/Admin/Denied");
            options.Conventions.AuthorizePage("/Account/Consent");
        });

        // The admin API answers 401/403 rather than redirecting to the sign-in page; the console sends a
        // signed-in person without a registry role to its "no access" page.
        services.ConfigureApplicationCookie(cookie =>
        {
            var events = cookie.Events ?? new CookieAuthenticationEvents();
            var toLogin = events.OnRedirectToLogin;
            var denied = events.OnRedirectToAccessDenied;
            events.OnRedirectToLogin = context =>
            {
                if (!IsApi(context.Request))
                {
                    return toLogin(context);
                }

                // RFC 9110 section 15.5.2: a 401 names the scheme to use; the API takes bearer tokens (RFC 6750).
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Status(context, StatusCodes.Status401Unauthorized);
            };
            events.OnRedirectToAccessDenied = context => IsApi(context.Request)
                ? Status(context, StatusCodes.Status403Forbidden)
                : context.Request.Path.StartsWithSegments("/Admin") ? Redirect(context, "/Admin/Denied") : denied(context);
            cookie.Events = events;
        });
        return builder;
    }

    private static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api");

    private static Task Status(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    private static Task Redirect(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context, string path)
    {
        context.Response.Redirect(path);
        return Task.CompletedTask;
    }
}
