using IdentityHub.Server.Verification.Resilience;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IdentityHub.Server.Verification;

public static class VerificationExtensions
{
    /// <summary>Authority adapters, their resilience (breakers, retries, fallback), the result cache and the attempt limit.</summary>
    public static IServiceCollection AddIdentityHubVerification(this IServiceCollection services)
    {
        services.AddOptions<VerificationOptions>().BindConfiguration(VerificationOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.Providers.Values.All(p => string.IsNullOrEmpty(p.Fallback) || o.Providers.ContainsKey(p.Fallback)),
                "Verification:Providers:*:Fallback must name another configured provider.")
            .Validate(o => o.Providers.Values.All(p => p.Timeout > TimeSpan.Zero), "Verification:Providers:*:Timeout must be positive.")
            .Validate(o => Uri.IsWellFormedUriString(o.TrustFramework, UriKind.Absolute), "Verification:TrustFramework must be an absolute URI.")
            .ValidateOnStart();
        // The per-call timeout is the adapter's (AuthorityOptions.Timeout), not HttpClient's 100 s default.
        services.AddHttpClient(AuthorityAdapters.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(TimeProvider.System);
        // In memory on one node; a shared IDistributedCache (Redis) registered earlier takes precedence.
        services.AddDistributedMemoryCache();
        services.AddSingleton<AuthorityAdapters>();
        services.AddSingleton<CircuitBreakers>();
        services.AddSingleton<ResultCache>();
        services.AddSingleton<AttemptLimiter>();
        services.AddScoped<VerificationGateway>();
        return services;
    }
}
