using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// PostgreSQL, every position of the two switches of the code's save: Oidc:CodeSaveInImplicitTransaction (the code's
/// entry, the ad-hoc authorization and the session participant in one batch without BEGIN/COMMIT) and
/// Oidc:CodeApplicationByKey (the authorization and the entry naming their application by the client cache's key instead
/// of OpenIddict's stores loading it). Each gives the same rows: the entry under its authorization, both naming the
/// client's application, the participant naming the authorization, and the code redeemed once.
/// </summary>
public sealed class CodeSaveSwitchesTests
{
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task CodeFlow_EverySwitchPosition_EntryAuthorizationAndParticipantSaved_CodeRedeemedOnce(bool implicitTransaction, bool applicationByKey)
    {
        await using var server = await IdentityHubServer.StartAsync("Postgres", settings =>
        {
            settings["Oidc:CodeSaveInImplicitTransaction"] = implicitTransaction.ToString();
            settings["Oidc:CodeApplicationByKey"] = applicationByKey.ToString();
        });
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var (callback, pkce, _) = await kit.AuthorizeForCodeAsync(new BrowserlessSignIn(server), client, user);
        var code = callback["code"]!;

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            var entry = await db.Set<HubToken>().AsNoTracking()
                .Where(t => t.Type == TokenTypeIdentifiers.Private.AuthorizationCode && t.Application!.ClientId == client.ClientId)
                .Select(t => new { t.Status, t.Subject, AuthorizationId = t.Authorization!.Id, AuthorizationClient = t.Authorization.Application!.ClientId })
                .SingleAsync();
            Assert.Equal((Statuses.Valid, client.ClientId), (entry.Status, entry.AuthorizationClient));
            var participant = await db.Set<SessionParticipant>().AsNoTracking().SingleAsync(p => p.AuthorizationId == entry.AuthorizationId);
            Assert.Equal((client.ClientId, entry.Subject), (participant.ClientId, participant.Subject));
        }

        var tokens = await kit.RedeemCodeAsync(client, code, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        Assert.False(string.IsNullOrEmpty(tokens.RefreshToken));
        Assert.Equal("invalid_grant", (await kit.RedeemCodeAsync(client, code, pkce.Verifier)).Error);
    }
}
