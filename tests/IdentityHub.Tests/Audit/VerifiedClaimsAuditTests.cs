using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Tests.Verification;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// claims.released names the claims inside verified_claims (real-name verification, OpenID Identity Assurance) as
/// verified_claims:{claim}, in the ID token and at userinfo, with the masked ones marked; the citizen's history shows
/// them. Against the verification simulator, on SQLite and PostgreSQL.
/// </summary>
public abstract class VerifiedClaimsAuditTests(JourneyFixture fixture)
{
    private const string ClaimsRequest =
        "{\"id_token\":{\"verified_claims\":{\"verification\":{},\"claims\":{\"name\":null,\"id_number\":null}}}," +
        "\"userinfo\":{\"verified_claims\":{\"verification\":{},\"claims\":{\"id_number\":null}}}}";

    [Fact]
    public async Task VerifiedClaims_InIdTokenAndUserInfo_RecordedByClaimNameAndShownInTheHistory()
    {
        var (citizen, _, name, idNumber) = await fixture.VerifiedCitizenAsync("林黛玉");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", id_number = "masked" });
        var tokens = await app.SignInAsync(citizen, "openid identity", ClaimsRequest);
        var userInfo = await app.UserInfoAsync(tokens.Response.AccessToken!);
        Assert.Equal(JsonValueKind.Object, userInfo.GetProperty("verified_claims").ValueKind);

        using var auditor = await AuditorAsync();
        using var response = await auditor.GetAsync($"/api/audit/events?client={app.ClientId}&type=claims.released&limit=50");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var released = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
            .Select(e => JsonDocument.Parse(e.GetProperty("data").GetString()!).RootElement).ToList();
        var idToken = Assert.Single(released, d => d.GetProperty("via").GetString() == "id_token");
        Assert.Contains("verified_claims:name", Names(idToken, "claims"));
        Assert.Contains("verified_claims:id_number", Names(idToken, "claims"));
        Assert.Contains("verified_claims:id_number", Names(idToken, "masked"));
        Assert.DoesNotContain("verified_claims:name", Names(idToken, "masked"));
        var atUserInfo = Assert.Single(released, d => d.GetProperty("via").GetString() == "userinfo");
        Assert.Contains("verified_claims:id_number", Names(atUserInfo, "claims"));
        Assert.DoesNotContain("verified_claims:name", Names(atUserInfo, "claims"));
        var all = string.Join("\n", released.Select(r => r.GetRawText()));
        Assert.DoesNotContain(idNumber, all, StringComparison.Ordinal);
        Assert.DoesNotContain(name, all, StringComparison.Ordinal);

        var history = await citizen.GetAsync("/Account/History");
        Assert.Equal(HttpStatusCode.OK, history.Status);
        Assert.Contains("data-claim=\"verified_claims:id_number\"", history.Html, StringComparison.Ordinal);
        Assert.Contains("身份证号（实名核验）（脱敏）", history.Html, StringComparison.Ordinal);
        Assert.Contains("姓名（实名核验）", history.Html, StringComparison.Ordinal);
        Assert.DoesNotContain(idNumber, history.Html, StringComparison.Ordinal);
    }

    private static List<string> Names(JsonElement data, string member) =>
        data.GetProperty(member).EnumerateArray().Select(n => n.GetString()!).ToList();

    /// <summary>A signed-in person with the auditor role, as the audit API expects one (cookie and CSRF header).</summary>
    private async Task<HttpClient> AuditorAsync()
    {
        var userName = "auditor-" + Guid.NewGuid().ToString("N")[..10];
        var userId = await fixture.Admin.CreateUserAsync(userName, JourneyFixture.Password);
        using (var admin = fixture.Server.CreateHttpClient())
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.Admin.GetAdminTokenAsync());
            using var roles = await admin.PutAsJsonAsync($"/api/admin/users/{userId}/roles", new { roles = new[] { "auditor" } });
            roles.EnsureSuccessStatusCode();
        }

        var pages = new CitizenPages(fixture.Server);
        await pages.SignInAsync(userName, JourneyFixture.Password);
        var client = pages.Client();
        client.DefaultRequestHeaders.Add("X-IdentityHub-Csrf", "1");
        return client;
    }
}

public sealed class VerifiedClaimsAuditTests_Sqlite(JourneyFixture fixture) : VerifiedClaimsAuditTests(fixture), IClassFixture<JourneyFixture>;

public sealed class VerifiedClaimsAuditTests_Postgres(PostgresJourneyFixture fixture) : VerifiedClaimsAuditTests(fixture), IClassFixture<PostgresJourneyFixture>;
