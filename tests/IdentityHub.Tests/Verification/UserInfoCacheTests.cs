using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Verification;

/// <summary>
/// The userinfo endpoint answers from the node's memory (ClaimsPersonCache): a person whose userinfo has just been served
/// (and so is cached) must still show every committed change of the account, its real-name record and its evidence at
/// the very next request, and a deleted account must get 401 at once. Each release stays recorded. SQLite and PostgreSQL.
/// </summary>
public abstract class UserInfoCacheTests<TFixture>(TFixture fixture) where TFixture : JourneyFixture
{
    private const string Scope = "openid profile phone identity";

    [Fact]
    public async Task WarmPerson_RealNameVerifiedThenCheckedInPerson_EachShowsAtTheVeryNextUserInfo_EveryReleaseAudited()
    {
        var (pages, mobile) = await fixture.RegisteredCitizenAsync();
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", birthdate = "full", phone_number = "full", verification_level = "full" });
        var tokens = await app.SignInAsync(pages, Scope);
        var token = tokens.Response.AccessToken!;

        var first = await app.UserInfoAsync(token);
        var second = await app.UserInfoAsync(token);
        Assert.Equal(first.GetRawText(), second.GetRawText());
        Assert.Equal("L1", first.GetProperty("verification_level").GetString());
        Assert.Equal(mobile, first.GetProperty("phone_number").GetString());
        Assert.True(first.GetProperty("phone_number_verified").GetBoolean());
        Assert.False(first.TryGetProperty("birthdate", out _), "no verified identity yet");
        Assert.Equal(tokens.IdToken.Subject, first.GetProperty("sub").GetString());

        var name = "薛宝钗";
        var idNumber = TestIdentities.NewIdNumber(male: false);
        await fixture.Simulator.AddPersonAsync(name, idNumber, mobile);
        var verified = await pages.VerifyAsync(name, idNumber);
        Assert.Equal("L2", verified.Attribute("verify-level", "data-level"));

        var afterVerification = await app.UserInfoAsync(token);
        Assert.Equal("L2", afterVerification.GetProperty("verification_level").GetString());
        Assert.Equal(name, afterVerification.GetProperty("name").GetString());
        Assert.Equal($"{idNumber[6..10]}-{idNumber[10..12]}-{idNumber[12..14]}", afterVerification.GetProperty("birthdate").GetString());
        Assert.Equal(tokens.IdToken.Subject, afterVerification.GetProperty("sub").GetString());

        var clerk = await fixture.ClerkAsync();
        await fixture.InPersonAsync(clerk, mobile, name, idNumber);
        Assert.Equal("L4", (await app.UserInfoAsync(token)).GetProperty("verification_level").GetString());

        // Served from memory or not, each release is one claims.released event the citizen sees.
        var userId = await UserIdAsync(mobile);
        var releases = (await fixture.AuditAsync("user", userId))
            .Count(e => e.GetProperty("eventType").GetString() == "claims.released" && e.GetProperty("clientId").GetString() == app.ClientId
                        && JsonDocument.Parse(e.GetProperty("data").GetString()!).RootElement.GetProperty("via").GetString() == "userinfo");
        Assert.Equal(4, releases);
    }

    [Fact]
    public async Task WarmPerson_PhoneNumberChanged_NextUserInfoShowsIt_AccountDeleted_NextUserInfo401()
    {
        var (pages, mobile) = await fixture.RegisteredCitizenAsync();
        var app = await RelyingParty.RegisterAsync(fixture, new { phone_number = "full" });
        var token = (await app.SignInAsync(pages, Scope)).Response.AccessToken!;
        Assert.Equal(mobile, (await app.UserInfoAsync(token)).GetProperty("phone_number").GetString());
        Assert.Equal(mobile, (await app.UserInfoAsync(token)).GetProperty("phone_number").GetString());

        // No page or API changes a number (the service hall sets it) or deletes an account: Identity's UserManager, the
        // path such a feature takes (EF SaveChanges), in the server process.
        var newMobile = Infrastructure.UniqueNames.Mobile();
        await WithUserAsync(mobile, async (users, user) => Assert.True((await users.SetPhoneNumberAsync(user, newMobile)).Succeeded));
        var changed = await app.UserInfoAsync(token);
        Assert.Equal(newMobile, changed.GetProperty("phone_number").GetString());
        Assert.False(changed.GetProperty("phone_number_verified").GetBoolean());

        await WithUserAsync(newMobile, async (users, user) => Assert.True((await users.DeleteAsync(user)).Succeeded));
        using var http = fixture.Server.CreateHttpClient();
        var refused = await http.GetUserInfoAsync(new UserInfoRequest { Address = fixture.Server.Authority + "/connect/userinfo", Token = token });
        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);
        Assert.Contains("invalid_token", refused.HttpResponse!.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClaimsRequestedIndividually_AndVerifiedClaims_SameAnswerFromMemoryAsFromTheDatabase()
    {
        var (pages, _, name, idNumber) = await fixture.VerifiedCitizenAsync("贾探春");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", birthdate = "full", gender = "full", id_number = "masked", phone_number = "masked" });
        // phone_number asked individually (no phone scope) and verified_claims as a single object: both from the access token's claims request.
        var claims = "{\"userinfo\":{\"phone_number\":null,\"verified_claims\":{\"verification\":{\"trust_framework\":null},"
            + "\"claims\":{\"name\":null,\"id_number\":null}}}}";
        var token = (await app.SignInAsync(pages, "openid", claims)).Response.AccessToken!;

        var cold = await app.UserInfoAsync(token);
        var warm = await app.UserInfoAsync(token);
        Assert.Equal(cold.GetRawText(), warm.GetRawText());
        Assert.True(warm.TryGetProperty("phone_number", out var phone) && phone.GetString()!.Contains("****", StringComparison.Ordinal));
        Assert.False(warm.TryGetProperty("birthdate", out _), "profile was not granted nor asked for");
        var verified = warm.GetProperty("verified_claims");
        Assert.Equal(JsonValueKind.Object, verified.ValueKind);
        Assert.Equal(name, verified.GetProperty("claims").GetProperty("name").GetString());
        Assert.Equal(idNumber[..4] + "**********" + idNumber[^4..], verified.GetProperty("claims").GetProperty("id_number").GetString());
        Assert.Equal("L2", verified.GetProperty("verification").GetProperty("assurance_level").GetString());
    }

    private async Task<string> UserIdAsync(string mobile)
    {
        string? id = null;
        await WithUserAsync(mobile, (_, user) =>
        {
            id = user.Id;
            return Task.CompletedTask;
        });
        return id!;
    }

    private async Task WithUserAsync(string mobile, Func<UserManager<ApplicationUser>, ApplicationUser, Task> action)
    {
        using var scope = fixture.Server.Services.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = await users.Users.SingleAsync(u => u.PhoneNumber == mobile);
        await action(users, user);
    }
}

public sealed class UserInfoCacheTests_Sqlite(JourneyFixture fixture)
    : UserInfoCacheTests<JourneyFixture>(fixture), IClassFixture<JourneyFixture>;

public sealed class UserInfoCacheTests_Postgres(PostgresJourneyFixture fixture)
    : UserInfoCacheTests<PostgresJourneyFixture>(fixture), IClassFixture<PostgresJourneyFixture>;
