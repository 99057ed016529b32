using IdentityHub.Server.Registry;
using IdentityHub.Server.Security;
using IdentityHub.Server.Sessions;

namespace IdentityHub.Server.Scale;

public static class ScaleExtensions
{
    /// <summary>
    /// Shared mode, when Redis:Configuration is set: the Redis-backed implementations of the interfaces whose
    /// single-node defaults the other parts register with TryAdd (so call this first). Without it nothing changes.
    /// </summary>
    public static WebApplicationBuilder AddIdentityHubScaleOut(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section)
            .Validate(o => o.OperationTimeout > TimeSpan.Zero && o.CacheLifetime > TimeSpan.Zero && o.ReconnectInterval > TimeSpan.Zero,
                "Redis:OperationTimeout, CacheLifetime and ReconnectInterval must be positive.")
            .ValidateOnStart();
        if (!RedisOptions.IsEnabled(builder.Configuration))
        {
            return builder;
        }

        services.AddSingleton<RedisConnection>();
        services.AddSingleton<SharedCache>();
        services.AddSingleton<IClusterSignals, RedisClusterSignals>();
        services.AddSingleton<IWindowCounters, RedisWindowCounters>();
        services.AddSingleton<IClientChangeFeed, RedisClientChanges>();
        services.AddSingleton<Oidc.IPersonChangeFeed, RedisPersonChanges>();
        services.AddScoped<EfSessionStore>();
        services.AddScoped<ISessionStore, CachedSessionStore>();
        return builder;
    }

    /// <summary>Shared mode keeps the Data Protection key ring in the database (see <see cref="Hosting.WebExtensions"/>).</summary>
    public static bool IsSharedMode(this IConfiguration configuration) => RedisOptions.IsEnabled(configuration);
}
