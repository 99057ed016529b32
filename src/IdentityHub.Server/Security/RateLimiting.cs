using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Security;

/// <summary>
/// The per-IP rate limit policies of the sign-in and account pages, with SMS sends counted apart (form posts only; showing
/// a page is never limited), and the per-account limiter the sign-in page consults itself.
/// </summary>
public static class RateLimiting
{
    public const string SignIn = "ih.signin";
    public const string Verify = "ih.verify";

    public static IServiceCollection AddIdentityHubRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AccountRateLimiter>();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter =
                        ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                return ValueTask.CompletedTask;
            };
            limiter.AddPolicy(SignIn, context => PerIp(context, SignIn, o => o.SignInPerIp));
            limiter.AddPolicy(Verify, context => PerIp(context, Verify, o => o.VerifyPerIp));
        });
        return services;
    }

    /// <summary>
    /// One partition per policy and client IP. A page handler whose name starts with "Send" sends an SMS
    /// and falls under <see cref="RateLimitOptions.SmsPerIp"/> instead.
    /// </summary>
    private static RateLimitPartition<string> PerIp(HttpContext context, string policy, Func<RateLimitOptions, RateLimitOptions.WindowLimit> pick)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            return RateLimitPartition.GetNoLimiter("get");
        }

        var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        var sendsSms = context.Request.Query["handler"].ToString().StartsWith("Send", StringComparison.OrdinalIgnoreCase);
        var limit = sendsSms ? options.SmsPerIp : pick(options);
        var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return RateLimitPartition.GetFixedWindowLimiter((sendsSms ? "sms" : policy) + "|" + ip, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.PermitLimit,
            Window = limit.Window,
            QueueLimit = 0,
        });
    }
}

/// <summary>
/// Failed sign-ins per account (keyed by the normalised name or number typed), across all IPs. Only
/// failures take a permit, so that an account signing in often (a shared counter, the benchmark) is
/// never slowed; once the failures of a window are spent, every attempt waits, the right password too.
/// </summary>
public sealed class AccountRateLimiter(IOptions<RateLimitOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.SignInPerAccount.PermitLimit,
            Window = options.Value.SignInPerAccount.Window,
            QueueLimit = 0,
        }), StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the account's failures for this window are spent; <paramref name="retryAfter"/> says when to come back.</summary>
    public bool IsLimited(string accountKey, out TimeSpan retryAfter)
    {
        // A request for zero permits only asks whether any are left.
        using var lease = _limiter.AttemptAcquire(accountKey.Trim(), 0);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : options.Value.SignInPerAccount.Window;
        return !lease.IsAcquired;
    }

    public void RecordFailure(string accountKey)
    {
        using var lease = _limiter.AttemptAcquire(accountKey.Trim());
    }

    public void Dispose() => _limiter.Dispose();
}
