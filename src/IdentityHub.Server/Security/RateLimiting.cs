using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        // TryAdd: shared mode (Scale/) registers Redis counters first.
        services.TryAddSingleton<IWindowCounters, NoWindowCounters>();
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
        var partition = (sendsSms ? "sms" : policy) + "|" + ip;
        var counters = context.RequestServices.GetRequiredService<IWindowCounters>();
        if (counters is not NoWindowCounters)
        {
            // Shared mode: one count per IP across the nodes behind the load balancer.
            return RateLimitPartition.Get(partition, key => new SharedWindowRateLimiter("ip:" + key, limit.PermitLimit, limit.Window, counters));
        }

        return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
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
/// In shared mode the failures are counted across the nodes (<see cref="IWindowCounters"/>, an atomic increment, so
/// parallel guesses at several nodes are all counted); this node's own count is kept too, for when they are unavailable.
/// </summary>
public sealed class AccountRateLimiter(IOptions<RateLimitOptions> options, IWindowCounters shared) : IDisposable
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
        var limit = options.Value.SignInPerAccount;
        if (shared.Add(SharedKey(accountKey), 0, limit.Window) is { } count)
        {
            retryAfter = count.Remaining;
            return count.Count >= limit.PermitLimit;
        }

        // A request for zero permits only asks whether any are left.
        using var lease = _limiter.AttemptAcquire(accountKey.Trim(), 0);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : options.Value.SignInPerAccount.Window;
        return !lease.IsAcquired;
    }

    public void RecordFailure(string accountKey)
    {
        shared.Add(SharedKey(accountKey), 1, options.Value.SignInPerAccount.Window);
        using var lease = _limiter.AttemptAcquire(accountKey.Trim());
    }

    /// <summary>The name typed is personal data: the shared counter is keyed by its hash.</summary>
    private static string SharedKey(string accountKey) =>
        "account:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(accountKey.Trim().ToLowerInvariant())));

    public void Dispose() => _limiter.Dispose();
}
