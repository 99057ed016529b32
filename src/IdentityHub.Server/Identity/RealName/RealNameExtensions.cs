using IdentityHub.Server.Factors.Sms;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Identity.PersonalData;
using IdentityHub.Server.Identity.Registration;
using IdentityHub.Server.Verification;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IdentityHub.Server.Identity.RealName;

public static class RealNameExtensions
{
    /// <summary>Self-service registration and real-name verification: protected personal data, authority adapters, identities, evidence and levels.</summary>
    public static WebApplicationBuilder AddIdentityHubRealName(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddIdentityHubPersonalData();
        services.AddIdentityHubVerification();
        services.AddScoped<RealNameService>();
        services.AddSingleton<RealNameQueries>();
        services.AddScoped<PersonVerification>();
        services.AddScoped<AccountRegistration>();
        services.AddScoped<SmsChallenges>();
        services.AddScoped<EnterpriseRegistry>();
        services.AddScoped<AgentMandates>();

        // SMS: the factors part brings configurable senders; until then (and in tests) the development outbox.
        services.TryAddSingleton<DevelopmentSmsSender>();
        services.TryAddScoped<ISmsSender>(sp => sp.GetRequiredService<DevelopmentSmsSender>());

        services.PostConfigure<Microsoft.AspNetCore.Mvc.RazorPages.RazorPagesOptions>(options =>
        {
            options.Conventions.AuthorizePage("/Account/Verify");
            options.Conventions.AuthorizeFolder("/Account/Enterprises");
            options.Conventions.AuthorizePage("/Account/ActingFor");
            options.Conventions.AuthorizeFolder("/Hall", HallPolicy);
        });
        services.AddAuthorizationBuilder().AddPolicy(HallPolicy, policy => policy.RequireRole(Registry.AdminRoles.ServiceHallClerk));

        // The claims request parameter and OpenID Identity Assurance in the protocol (Oidc/ClaimsRequest, VerifiedClaims).
        services.AddOpenIddict().AddServer(server =>
        {
            server.RegisterClaims(Oidc.ClaimsFactory.VerifiedClaimsType, Oidc.ClaimsFactory.ActorType);
            server.AddEventHandler(Oidc.Handlers.ValidateClaimsParameter.Descriptor);
            server.AddEventHandler(Oidc.Handlers.AttachIdentityAssuranceMetadata.Descriptor);
        });
        return builder;
    }

    public const string HallPolicy = "service-hall";

    /// <summary>Development only: GET /dev/sms-outbox?phone=... lists the codes the outbox holds (the factors part adds /dev/sms).</summary>
    public static WebApplication MapRealNameDevelopmentEndpoints(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
        {
            app.MapGet("/dev/sms-outbox", (string phone, DevelopmentSmsSender outbox) => Results.Ok(outbox.MessagesTo(phone)))
                .ExcludeFromDescription();
        }

        return app;
    }
}
