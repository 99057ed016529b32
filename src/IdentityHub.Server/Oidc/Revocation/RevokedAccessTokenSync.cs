using IdentityHub.Server.Data;
using IdentityHub.Server.Scale;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc.Revocation;

/// <summary>
/// Keeps <see cref="RevokedAccessTokens"/> equal to the table: all unexpired rows before the first request, then the
/// rows revoked since the last read (with a minute of overlap, so that a row committed late is not skipped) on every
/// "access-token-revocations" signal and every <see cref="OidcOptions.RevocationRefreshInterval"/>; expired rows leave
/// memory then (and the table with the expired tokens, <see cref="TokenPruningService"/>).
/// </summary>
public sealed class RevokedAccessTokenSync(
    IServiceScopeFactory scopes,
    RevokedAccessTokens revoked,
    IClusterSignals signals,
    IOptions<OidcOptions> options,
    TimeProvider clock,
    ILogger<RevokedAccessTokenSync> logger) : BackgroundService
{
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private DateTime? _readSinceUtc;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the server takes requests: a restarted node must not accept what was revoked before.
        await ReadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = signals.Subscribe(AccessTokenRevocations.Signal, Wake);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(options.Value.RevocationRefreshInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await ReadAsync(stoppingToken);
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A read is due already.
        }
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            var query = db.AccessTokenRevocations.AsNoTracking().Where(r => r.ExpiresAtUtc > now);
            if (_readSinceUtc is { } since)
            {
                query = query.Where(r => r.RevokedAtUtc >= since);
            }

            foreach (var row in await query.ToListAsync(cancellationToken))
            {
                revoked.Add(row);
            }

            _readSinceUtc = now - Overlap;
            revoked.Prune();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The database may be migrating or briefly away; the next signal or interval reads again (from the same point).
            logger.LogWarning(e, "Could not read the access token revocations");
        }
    }
}
