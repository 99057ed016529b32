using System.Diagnostics;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Verification.Resilience;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Verification;

/// <summary>
/// The one way to ask an authority: per-account attempt limit, result cache, circuit breaker, retries of
/// timeouts and provider errors only (same idempotency key, never after an answer), the optional fallback
/// provider, and an audit event for every call (provider, kind, outcome, transaction id, billable,
/// latency; never the ID number). The events are saved before the result is returned, whatever the caller does next.
/// </summary>
public sealed partial class VerificationGateway(
    AuthorityAdapters adapters,
    CircuitBreakers breakers,
    ResultCache cache,
    AttemptLimiter limiter,
    IAuditLog audit,
    IdentityHubDbContext db,
    IOptions<VerificationOptions> options,
    TimeProvider clock,
    Operations.HubMetrics metrics,
    ILogger<VerificationGateway> logger)
{
    /// <summary>Provider name of answers IdentityHub gives itself (the attempt limit).</summary>
    public const string LocalProvider = "identityhub";

    public Task<VerificationResult> VerifyPersonAsync(PersonCheck check, AuditActor actor, string account, CancellationToken cancellationToken) =>
        VerifyAsync(options.Value.PersonProvider, check, actor, account, cancellationToken);

    public Task<VerificationResult> VerifyEnterpriseAsync(EnterpriseCheck check, AuditActor actor, string account, CancellationToken cancellationToken) =>
        VerifyAsync(options.Value.EnterpriseProvider, check, actor, account, cancellationToken);

    /// <param name="account">Whose attempt this is (the attempt limit and the audit target): a user id.</param>
    public async Task<VerificationResult> VerifyAsync(string provider, VerificationRequest request, AuditActor actor, string account,
        CancellationToken cancellationToken)
    {
        var kind = adapters.Find(provider)?.Kind ?? VerificationKind.PublicSecurityTwoElement;
        VerificationResult result;
        if (!await limiter.TryAcquireAsync(account, cancellationToken))
        {
            result = new VerificationResult(VerificationOutcome.RateLimited, LocalProvider, kind, RawCode: "attempt_limit",
                Detail: "Too many verification attempts for this account; try again later.");
            Record(actor, account, request, result, attempt: 0, latency: TimeSpan.Zero);
        }
        else if (await cache.GetAsync(provider, request, cancellationToken) is { } cached)
        {
            result = cached;
            Record(actor, account, request, result, attempt: 0, latency: TimeSpan.Zero);
        }
        else
        {
            result = await CallAsync(provider, request, actor, account, cancellationToken);
            // The fallback answers only when the provider could not (never after a mismatch or not-found).
            if (result.Outcome is VerificationOutcome.Timeout or VerificationOutcome.ProviderError or VerificationOutcome.RateLimited
                && Settings(provider)?.Fallback is { Length: > 0 } fallback)
            {
                result = await CallAsync(fallback, request, actor, account, cancellationToken);
            }

            await cache.SetAsync(provider, request, result, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    private async Task<VerificationResult> CallAsync(string provider, VerificationRequest request, AuditActor actor, string account,
        CancellationToken cancellationToken)
    {
        var settings = Settings(provider);
        var adapter = adapters.Find(provider);
        if (settings is null || adapter is null)
        {
            var unsupported = new VerificationResult(VerificationOutcome.Unsupported, provider, VerificationKind.PublicSecurityTwoElement,
                Detail: "No such provider is configured.");
            Record(actor, account, request, unsupported, 0, TimeSpan.Zero);
            return unsupported;
        }

        var breaker = breakers.For(provider, settings);
        for (var attempt = 1; ; attempt++)
        {
            if (!breaker.TryAcquire())
            {
                var open = new VerificationResult(VerificationOutcome.ProviderError, provider, adapter.Kind, RawCode: "circuit_open",
                    Detail: "The provider failed repeatedly; calls are paused.");
                Record(actor, account, request, open, attempt, TimeSpan.Zero);
                return open;
            }

            var started = clock.GetTimestamp();
            var result = await adapter.VerifyAsync(request, cancellationToken);
            breaker.Record(failure: result.IsRetryable);
            Record(actor, account, request, result, attempt, clock.GetElapsedTime(started));
            if (!result.IsRetryable || attempt > settings.MaxRetries)
            {
                return result;
            }

            await Task.Delay(settings.RetryDelay * attempt, clock, cancellationToken);
        }
    }

    private AuthorityOptions? Settings(string provider) => options.Value.Providers.GetValueOrDefault(provider);

    private void Record(AuditActor actor, string account, VerificationRequest request, VerificationResult result, int attempt, TimeSpan latency)
    {
        var latencyMs = (long)latency.TotalMilliseconds;
        audit.Add(actor, new VerificationCallRecorded(account, new
        {
            provider = result.Provider,
            kind = result.Kind.ToString(),
            outcome = result.Outcome.ToString(),
            transactionId = result.TransactionId,
            rawCode = result.RawCode,
            billable = result.Billable,
            fromCache = result.FromCache,
            latencyMs,
            attempt,
            idempotencyKey = request.IdempotencyKey,
            mismatchedFields = result.MismatchedFields,
        }));
        Called(logger, result.Provider, result.Kind, result.Outcome, result.TransactionId, latencyMs, attempt, result.FromCache);
        metrics.VerificationCall(result.Provider, result.Kind.ToString(), result.Outcome.ToString(), result.FromCache, latency);
    }

    // Names the call, never the person: no name, ID number or mobile number in logs.
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information,
        Message = "Verification {Provider} {Kind}: {Outcome} (transaction {TransactionId}, {LatencyMs} ms, attempt {Attempt}, cached {FromCache})")]
    private static partial void Called(ILogger logger, string provider, VerificationKind kind, VerificationOutcome outcome, string? transactionId,
        long latencyMs, int attempt, bool fromCache);
}

/// <summary>One authority call (or cached or refused attempt) for the audit trail; target: the account it was for.</summary>
public sealed record VerificationCallRecorded(string Account, object After) : AuditRecord(Account, null, null, After)
{
    public override string EventType => "verification.call";

    public override string TargetType => "user";

    /// <summary>The account the check was for: auditors find it by person, the citizen in their history.</summary>
    public override string? SubjectId => Account;
}
