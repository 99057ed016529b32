using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Removes tokens and authorizations that are expired, redeemed or revoked and older than
/// Oidc:PruneAfter, every hour (OpenIddict.Quartz is not available here).
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
                logger.LogInformation("Pruned {Tokens} tokens and {Authorizations} authorizations", tokens, authorizations);
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
