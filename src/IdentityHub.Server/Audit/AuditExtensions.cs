using IdentityHub.Server.Audit.Handlers;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IdentityHub.Server.Audit;

public static class AuditExtensions
{
    /// <summary>The audit log, its chain and its readers: what the server and the command-line jobs share.</summary>
    public static IServiceCollection AddIdentityHubAudit(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section)
            .Validate(o => o.MaxBatchSize > 0, "Audit:MaxBatchSize must be positive.")
            .Validate(o => o.BatchLinger >= TimeSpan.Zero && o.BatchLinger <= TimeSpan.FromSeconds(1), "Audit:BatchLinger must be between zero and one second.")
            .Validate(o => o.BatchLingerBelow >= 0, "Audit:BatchLingerBelow must not be negative.")
            .Validate(o => o.CheckpointInterval >= TimeSpan.Zero, "Audit:CheckpointInterval must not be negative.")
            .Validate(o => o.Retention.Values.All(r => r >= TimeSpan.Zero) && o.DefaultRetention >= TimeSpan.Zero, "Audit retention must not be negative.")
            .Validate(o => o.ResolveNodeId().Length <= 64, "Audit:NodeId has at most 64 characters.")
            .ValidateOnStart();
        services.AddHttpContextAccessor();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AuditSigner>();
        services.TryAddSingleton<AuditChain>();
        services.TryAddSingleton<SqliteAuditAppender>();
        services.TryAddSingleton<AuditWriter>();
        services.TryAddScoped<AuditRequestInfo>();
        services.TryAddScoped<IAuditLog, AuditLog>();
        services.TryAddSingleton<Operations.HubMetrics>();
        services.TryAddScoped<AuditQueries>();
        services.TryAddScoped<AuditExport>();
        services.TryAddScoped<AuditStatistics>();
        services.TryAddScoped<AuditVerification>();
        services.TryAddScoped<AuditRetention>();
        services.TryAddScoped<CitizenHistory>();
        return services;
    }

    /// <summary>
    /// The server's audit trail: the group-commit writer and retention in the background, the OpenIddict handlers
    /// that record token issuance, refusal and revocation, and the sign-in requirement of the audit and history pages.
    /// </summary>
    public static WebApplicationBuilder AddIdentityHubAuditTrail(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddIdentityHubAudit();
        // Needs ASP.NET Core Identity, which the command-line jobs do not load.
        services.TryAddScoped<AuditPersonResolver>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditWriter>());
        services.AddHostedService<AuditRetentionService>();
        services.AddOpenIddict().AddServer(server =>
        {
            server.AddEventHandler(AuditIssuedTokens.Descriptor);
            server.AddEventHandler(AuditRefusedTokenRequests.Descriptor);
            server.AddEventHandler(AuditRevokedTokens.Descriptor);
        });
        services.PostConfigure<Microsoft.AspNetCore.Mvc.RazorPages.RazorPagesOptions>(options =>
        {
            options.Conventions.AuthorizeFolder("/Audit");
            options.Conventions.AuthorizePage("/Account/History");
        });
        return builder;
    }
}
