using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IdentityHub.Server.Sessions;

public static class SessionsExtensions
{
    /// <summary>Server-side SSO sessions, their cookie check, and back-channel and front-channel logout.</summary>
    public static WebApplicationBuilder AddIdentityHubSessions(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.Section)
            .Validate(o => o.IdleTimeout > TimeSpan.Zero && o.AbsoluteTimeout > TimeSpan.Zero && o.RetainFor >= TimeSpan.Zero,
                "Sessions:IdleTimeout and AbsoluteTimeout must be positive, RetainFor not negative.")
            .Validate(o => o.ActivityResolution >= TimeSpan.Zero && o.ActivityResolution < o.IdleTimeout,
                "Sessions:ActivityResolution must be shorter than Sessions:IdleTimeout.")
            .Validate(o => o.BackChannel.PollInterval > TimeSpan.Zero && o.BackChannel.InitialRetryDelay > TimeSpan.Zero
                    && o.BackChannel.MaxRetryDelay >= o.BackChannel.InitialRetryDelay,
                "Sessions:BackChannel: PollInterval and InitialRetryDelay must be positive, MaxRetryDelay at least InitialRetryDelay.")
            .Validate(o => o.BackChannel.MaxAttempts >= 1 && o.BackChannel.BatchSize >= 1 && o.BackChannel.RequestTimeout > TimeSpan.Zero
                    && o.BackChannel.TokenLifetime > TimeSpan.Zero,
                "Sessions:BackChannel: MaxAttempts and BatchSize at least 1, RequestTimeout and TokenLifetime positive.")
            .ValidateOnStart();

        // TryAdd: a cache in front of the database store (the scale-out issue) registers itself first.
        services.AddSingleton<SessionQueries>();
        services.TryAddScoped<ISessionStore, EfSessionStore>();
        services.AddScoped<SessionService>();
        services.AddScoped<FrontChannelLogout>();
        services.AddSingleton<LogoutNoticeSignal>();
        services.AddSingleton<LogoutTokenFactory>();
        services.AddHostedService<BackChannelLogoutSender>();
        services.AddHostedService<SessionPruningService>();
        services.AddHttpClient(BackChannelLogoutSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            // A redirect is not an acknowledgement (section 2.8), and no cookie belongs in a logout notice.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

        services.ConfigureApplicationCookie(SessionCookieEvents.Attach);
        return builder;
    }
}
