using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// Delivers the queued back-channel logout notices (OpenID Connect Back-Channel Logout 1.0 section 2.5): a POST of
/// <c>logout_token</c> to each app's registered URI. A failure is retried with exponential backoff
/// (<see cref="BackChannelOptions"/>), so an app that was down for a while is still told. Each attempt signs a
/// fresh token (new jti, iat and exp). Several nodes may run this: a notice is leased before it is sent.
/// </summary>
public sealed class BackChannelLogoutSender(
    IServiceScopeFactory scopes,
    IHttpClientFactory httpClients,
    LogoutNoticeSignal signal,
    IOptions<SessionOptions> options,
    TimeProvider clock,
    ILogger<BackChannelLogoutSender> logger) : BackgroundService
{
    public const string HttpClientName = "IdentityHub.BackChannelLogout";

    private BackChannelOptions Settings => options.Value.BackChannel;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A full batch may mean more are due: go on without waiting.
                if (await SendDueAsync(stoppingToken) == Settings.BatchSize)
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be migrating or briefly unavailable; the notices stay queued.
                logger.LogWarning(e, "Back-channel logout delivery pass failed");
            }

            await signal.WaitAsync(Settings.PollInterval, stoppingToken);
        }
    }

    private async Task<int> SendDueAsync(CancellationToken stoppingToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var now = clock.GetUtcNow().UtcDateTime;
        var due = await db.Set<LogoutNotice>().AsNoTracking()
            .Where(n => n.DueAtUtc != null && n.DueAtUtc <= now)
            .OrderBy(n => n.DueAtUtc)
            .Take(Settings.BatchSize)
            .ToListAsync(stoppingToken);

        foreach (var notice in due)
        {
            // Lease: push the due time past the attempt; only the node whose update matched sends.
            var lease = now + Settings.RequestTimeout + TimeSpan.FromSeconds(30);
            var leased = await db.Set<LogoutNotice>()
                .Where(n => n.Id == notice.Id && n.DueAtUtc == notice.DueAtUtc)
                .ExecuteUpdateAsync(s => s.SetProperty(n => n.DueAtUtc, lease), stoppingToken);
            if (leased == 1)
            {
                await AttemptAsync(scope.ServiceProvider, db, notice, stoppingToken);
            }
        }

        return due.Count;
    }

    /// <summary>Posts the logout token to the client; null on success, else what went wrong.</summary>
    private async Task<string?> PostAsync(LogoutNotice notice, string token, CancellationToken stoppingToken)
    {
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(Settings.RequestTimeout);
            using var response = await http.PostAsync(notice.Uri,
                new FormUrlEncodedContent([KeyValuePair.Create("logout_token", token)]), timeout.Token);
            // Section 2.8: 200 on success; some frameworks answer 204 for an empty body.
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            return e is OperationCanceledException ? "timeout" : e.Message;
        }
    }

    private async Task AttemptAsync(IServiceProvider services, IdentityHubDbContext db, LogoutNotice notice, CancellationToken stoppingToken)
    {
        var client = await services.GetRequiredService<Registry.ClientCache>().FindAsync(notice.ClientId, db, stoppingToken);
        var token = services.GetRequiredService<LogoutTokenFactory>().Create(notice.Issuer, notice.ClientId, notice.Subject, notice.SessionId,
            client?.Signing.IdToken);
        string? error;
        if (token is null)
        {
            // The client registered an ID token algorithm the server has no key for now: no token of another algorithm;
            // the attempt fails and is retried (the key may be configured again).
            error = "no signing key for the client's id_token_signed_response_alg";
        }
        else
        {
            error = await PostAsync(notice, token, stoppingToken);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var tracked = await db.Set<LogoutNotice>().SingleAsync(n => n.Id == notice.Id, stoppingToken);
        tracked.Attempts++;
        tracked.LastError = error is { Length: > 500 } ? error[..500] : error;
        var audit = services.GetRequiredService<IAuditLog>();
        var facts = new { tracked.ClientId, tracked.Uri, tracked.Attempts, Error = error };
        if (error is null)
        {
            tracked.DueAtUtc = null;
            tracked.DeliveredAtUtc = now;
            audit.Add(AuditActor.System("backchannel-logout"), await NotifiedAsync(services, db, tracked, delivered: true, facts, stoppingToken));
        }
        else if (tracked.Attempts >= Settings.MaxAttempts)
        {
            tracked.DueAtUtc = null;
            tracked.AbandonedAtUtc = now;
            audit.Add(AuditActor.System("backchannel-logout"), await NotifiedAsync(services, db, tracked, delivered: false, facts, stoppingToken));
            logger.LogWarning("Back-channel logout notice {Id} to {Client} abandoned after {Attempts} attempts: {Error}",
                tracked.Id, tracked.ClientId, tracked.Attempts, error);
        }
        else
        {
            tracked.DueAtUtc = now + RetryDelay(tracked.Attempts);
            logger.LogInformation("Back-channel logout notice {Id} to {Client} failed ({Error}); attempt {Attempts} retried at {Due}",
                tracked.Id, tracked.ClientId, error, tracked.Attempts, tracked.DueAtUtc);
        }

        await db.SaveChangesAsync(stoppingToken);
    }

    /// <summary>The event names the person of the session (the notice holds only the sub the app saw) and the app's department.</summary>
    private static async Task<LogoutNotified> NotifiedAsync(IServiceProvider services, IdentityHubDbContext db, LogoutNotice notice, bool delivered,
        object facts, CancellationToken cancellationToken)
    {
        var userId = await db.Set<SsoSession>().Where(s => s.Id == notice.SessionId).Select(s => s.UserId).SingleOrDefaultAsync(cancellationToken);
        var policy = await services.GetRequiredService<Registry.ClientPolicies>().FindAsync(notice.ClientId, cancellationToken);
        return new LogoutNotified(notice.SessionId, userId, notice.ClientId, policy?.DepartmentCode, delivered, facts);
    }

    /// <summary>Exponential backoff: InitialRetryDelay, then twice as long each time, capped at MaxRetryDelay.</summary>
    public TimeSpan RetryDelay(int failedAttempts)
    {
        var factor = Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(Settings.InitialRetryDelay.Ticks * factor, Settings.MaxRetryDelay.Ticks));
        return delay < Settings.MaxRetryDelay ? delay : Settings.MaxRetryDelay;
    }
}
