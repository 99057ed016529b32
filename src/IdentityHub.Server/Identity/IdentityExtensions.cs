using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Identity;

public static class IdentityExtensions
{
    public static WebApplicationBuilder AddIdentityHubIdentity(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccountOptions>()
            .BindConfiguration(AccountOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var accounts = builder.Configuration.GetSection(AccountOptions.Section).Get<AccountOptions>() ?? new();

        builder.Services.AddIdentity<ApplicationUser, IdentityRole>(options =>
            {
                options.Password.RequiredLength = accounts.PasswordMinLength;
                options.Password.RequireDigit = false;
                options.Password.RequireLowercase = false;
                options.Password.RequireUppercase = false;
                options.Password.RequireNonAlphanumeric = false;
                options.Password.RequiredUniqueChars = 4;
                options.Lockout.AllowedForNewUsers = true;
                options.Lockout.MaxFailedAccessAttempts = accounts.MaxFailedAccessAttempts;
                options.Lockout.DefaultLockoutTimeSpan = accounts.LockoutDuration;
                options.User.RequireUniqueEmail = false;
                options.SignIn.RequireConfirmedAccount = false;
                // AspNetUserPasskeys (WebAuthn); IdentityHubDbContext fixes the same version for migrations.
                options.Stores.SchemaVersion = IdentitySchemaVersions.Version3;
            })
            .AddEntityFrameworkStores<IdentityHubDbContext>()
            // Password verification behind PasswordHashGate (Accounts:PasswordHashConcurrency).
            .AddUserManager<HubUserManager>()
            // The cookie's claims, roles and role claims in one round trip (Identity's factory takes two or more).
            .AddClaimsPrincipalFactory<HubClaimsPrincipalFactory>()
            .AddDefaultTokenProviders()
            .AddPasswordValidator<CommonPasswordValidator>();

        // A first factor waiting for the second (Factors/PendingSignIn).
        builder.Services.AddAuthentication().AddCookie(PendingSignIn.Scheme, cookie =>
        {
            cookie.Cookie.Name = "ih.pending";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = builder.Environment.IsDevelopment() ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            cookie.ExpireTimeSpan = builder.Configuration.GetSection(FactorOptions.Section).Get<FactorOptions>()?.PendingSignInLifetime
                ?? new FactorOptions().PendingSignInLifetime;
            cookie.SlidingExpiration = false;
        });

        builder.Services.Configure<PasswordHasherOptions>(options =>
        {
            options.CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3;
            options.IterationCount = accounts.PasswordHashIterations;
        });

        builder.Services.ConfigureApplicationCookie(cookie =>
        {
            cookie.Cookie.Name = "ih.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = builder.Environment.IsDevelopment() ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            cookie.LoginPath = "/Account/Login";
            cookie.LogoutPath = "/Account/Logout";
            cookie.AccessDeniedPath = "/Account/Login";
            cookie.ExpireTimeSpan = accounts.SessionIdleTimeout;
            cookie.SlidingExpiration = true;
        });

        // The security stamp check rebuilds the cookie principal every 30 minutes; keep the session facts.
        builder.Services.Configure<SecurityStampValidatorOptions>(options =>
        {
            options.ValidationInterval = accounts.SecurityStampValidationInterval;
            options.OnRefreshingPrincipal = context =>
            {
                var current = context.CurrentPrincipal;
                var identity = context.NewPrincipal?.Identities.FirstOrDefault();
                if (current is not null && identity is not null)
                {
                    foreach (var claim in current.Claims.Where(c =>
                                 c.Type is HubClaims.SessionId or HubClaims.AuthenticationTime or HubClaims.AuthenticationMethod))
                    {
                        identity.AddClaim(claim.Clone());
                    }
                }

                return Task.CompletedTask;
            };
        });

        builder.Services.AddScoped<AccountLookup>();
        builder.Services.AddSingleton<AccountLookupQueries>();
        builder.Services.AddSingleton<PasswordHashGate>();
        builder.Services.AddSingleton<PasswordTimingEqualizer>();
        return builder;
    }
}
