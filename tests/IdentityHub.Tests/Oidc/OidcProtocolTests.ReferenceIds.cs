using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    /// <summary>
    /// Oidc:ReferenceIdUniqueByIndex (on): OpenIddict's token manager no longer looks a new entry's reference id up before
    /// the insert; the unique index on ReferenceId refuses a second entry with a code's reference all the same. The refused
    /// entry is not written, and the code still redeems once.
    /// </summary>
    [Fact]
    public async Task TokenEntry_WithAnIssuedCodesReference_Refused_CodeStillRedeemsOnce()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var code = callback["code"]!;
        var entry = Assert.Single(await CodeEntriesAsync(client.ClientId));

        await using (var scope = Server.Services.CreateAsyncScope())
        {
            // The manager stores the SHA-256 of the reference it is given: the code itself gives the issued entry's reference.
            var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            // Refused by the index at the insert (OpenIddict's lookup, with the option off, would refuse it as a validation error).
            await Assert.ThrowsAsync<DbUpdateException>(async () => await tokens.CreateAsync(new OpenIddictTokenDescriptor
            {
                ReferenceId = code,
                Payload = "not a token",
                Status = Statuses.Valid,
                Subject = entry.Subject,
                Type = TokenTypeIdentifiers.Private.AuthorizationCode,
                CreationDate = DateTimeOffset.UtcNow,
                ExpirationDate = DateTimeOffset.UtcNow.AddMinutes(5),
            }));
        }

        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Server.Data.IdentityHubDbContext>();
            Assert.Equal(entry.Id, Assert.Single(await db.Set<Server.Registry.HubToken>().AsNoTracking()
                .Where(t => t.ReferenceId == entry.ReferenceId).Select(t => t.Id).ToListAsync()));
        }

        var redeemed = await Kit.RedeemCodeAsync(client, code, pkce.Verifier);
        Assert.False(redeemed.IsError, $"{redeemed.Error} {redeemed.ErrorDescription}");
        Assert.Equal("invalid_grant", (await Kit.RedeemCodeAsync(client, code, pkce.Verifier)).Error);
    }
}
