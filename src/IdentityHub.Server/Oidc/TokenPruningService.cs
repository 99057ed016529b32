using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Removes tokens and authorizations that are expired, redeemed or revoked and older than
/// Oidc:PruneAfter, and access token revocations whose tokens have all expired, every hour (OpenIddict.Quartz is not available here).
/// </summary>
public sealed class TokenPruningService(
    IServiceScopeFactory scopes,
    IOptions<OidcOptions> options,
    ILogger<TokenPruningService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var threshold = DateTimeOffset.UtcNow - options.Value.PruneAfter;
                var tokens = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(threshold, stoppingToken);
                var authorizations = await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(threshold, stoppingToken);
                // Revocations of access tokens without entries are needed only until those tokens expire.
                var now = DateTime.UtcNow;
                var revocations = await scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>().AccessTokenRevocations
                    .Where(r => r.ExpiresAtUtc <= now).ExecuteDeleteAsync(stoppingToken);
                logger.LogInformation("Pruned {Tokens} tokens, {Authorizations} authorizations and {Revocations} access token revocations",
                    tokens, authorizations, revocations);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be migrating or briefly unavailable; try again at the next tick.
                logger.LogWarning(e, "Token pruning failed");
            }
        }
    }
}
