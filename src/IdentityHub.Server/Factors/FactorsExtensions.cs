using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors.Sms;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors;

public static class FactorsExtensions
{
    /// <summary>Second factors (TOTP, SMS, recovery codes, passkeys), account security messages and rate limits.</summary>
    public static WebApplicationBuilder AddIdentityHubFactors(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<FactorOptions>().BindConfiguration(FactorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var development = builder.Environment.IsDevelopment();
        services.AddOptions<SmsOptions>().BindConfiguration(SmsOptions.Section)
            .PostConfigure(o => o.Sender ??= development ? "Development" : "None")
            .ValidateDataAnnotations()
            .Validate(o => o.Sender is "Development" or "HttpGateway" or "None", "Sms:Sender must be Development, HttpGateway or None.")
            .Validate(o => development || o.Sender != "Development", "Sms:Sender=Development keeps codes in memory: only in Development.")
            .Validate(o => o.Sender != "HttpGateway" || o.Gateway.Url is { IsAbsoluteUri: true }, "Sms:Gateway:Url is required for the HttpGateway sender.")
            .ValidateOnStart();

        // Tests may register their own clock before this runs.
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<DevelopmentSmsSender>();
        services.AddSingleton<NoSmsSender>();
        services.AddHttpClient<HttpGatewaySmsSender>().AddStandardResilienceHandler();
        services.AddScoped<ISmsSender>(sp => sp.GetRequiredService<IOptions<SmsOptions>>().Value.Sender switch
        {
            "HttpGateway" => sp.GetRequiredService<HttpGatewaySmsSender>(),
            "Development" => sp.GetRequiredService<DevelopmentSmsSender>(),
            _ => sp.GetRequiredService<NoSmsSender>(),
        });

        services.AddScoped<TotpService>();
        services.AddScoped<RecoveryCodes>();
        services.AddScoped<SmsCodes>();
        services.AddScoped<SecondFactors>();
        services.AddScoped<SignInCompletion>();
        services.AddScoped<SecurityEvents>();
        services.AddScoped<KnownDevices>();
        services.AddScoped<Lockouts>();
        services.Configure<Microsoft.AspNetCore.Identity.IdentityPasskeyOptions>(PasskeyPolicy.Configure);
        services.AddIdentityHubRateLimiting();
        return builder;
    }

    public static WebApplication UseIdentityHubFactors(this WebApplication app)
    {
        app.UseRateLimiter();
        if (app.Environment.IsDevelopment())
        {
            // The development SMS outbox: what would have been sent to a number, newest first.
            app.MapGet("/dev/sms", (string phone, DevelopmentSmsSender outbox) =>
                    MobileNumber.TryNormalize(phone, out var number) ? Results.Ok(outbox.MessagesTo(number)) : Results.BadRequest())
                .ExcludeFromDescription();
        }

        return app;
    }
}
