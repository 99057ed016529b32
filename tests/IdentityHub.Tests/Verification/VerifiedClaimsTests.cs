using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Verification;

/// <summary>
/// The claims request parameter and verified_claims (OpenID Identity Assurance) in the ID token and userinfo, always
/// within the client's policy; assurance levels enforced through step-up; discovery.
/// </summary>
public sealed class VerifiedClaimsTests(JourneyFixture fixture) : IClassFixture<JourneyFixture>
{
    private const string TrustFramework = "https://id.city.gov.cn/trust-framework/real-name";

    private static string Request(string target, string claims = "\"name\":null,\"birthdate\":null,\"gender\":null,\"id_number\":null",
        string verification = "\"trust_framework\":null") =>
        $"{{\"{target}\":{{\"verified_claims\":{{\"verification\":{{{verification}}},\"claims\":{{{claims}}}}}}}}}";

    [Fact]
    public async Task Discovery_IdentityAssurance_Advertised()
    {
        using var http = fixture.Server.CreateHttpClient();
        var discovery = await http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");

        Assert.True(discovery.GetProperty("claims_parameter_supported").GetBoolean());
        Assert.True(discovery.GetProperty("verified_claims_supported").GetBoolean());
        Assert.Equal([TrustFramework], Strings(discovery, "trust_frameworks_supported"));
        Assert.Equal(["name", "birthdate", "gender", "id_number"], Strings(discovery, "claims_in_verified_claims_supported"));
        Assert.Contains("electronic_record", Strings(discovery, "evidence_supported"));
        Assert.Contains("urn:identityhub:ial:L2", Strings(discovery, "acr_values_supported"));
        Assert.Contains("verified_claims", Strings(discovery, "claims_supported"));
    }

    [Fact]
    public async Task VerifiedClaims_L2CitizenAskedInIdTokenAndUserInfo_OnlyWhatThePolicyReleases()
    {
        var (citizen, _, name, idNumber) = await fixture.VerifiedCitizenAsync("林黛玉");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", birthdate = "full", id_number = "masked" }, minimumAssuranceLevel: 2);
        var claims = "{\"id_token\":{\"verified_claims\":{\"verification\":{\"trust_framework\":{\"value\":\"" + TrustFramework + "\"}},"
            + "\"claims\":{\"name\":null,\"birthdate\":null,\"gender\":null,\"id_number\":null}}},"
            + "\"userinfo\":{\"verified_claims\":[{\"verification\":{\"assurance_level\":{\"values\":[\"L2\",\"L3\"]}},\"claims\":{\"id_number\":null}}]}}";

        var tokens = await app.SignInAsync(citizen, "openid", claims);

        var inIdToken = RelyingParty.JsonClaim(tokens.IdToken, "verified_claims")!.Value;
        var verification = inIdToken.GetProperty("verification");
        Assert.Equal(TrustFramework, verification.GetProperty("trust_framework").GetString());
        Assert.Equal("L2", verification.GetProperty("assurance_level").GetString());
        Assert.True(DateTimeOffset.TryParse(verification.GetProperty("time").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        var evidence = verification.GetProperty("evidence")[0];
        Assert.Equal("electronic_record", evidence.GetProperty("type").GetString());
        Assert.Equal("data", evidence.GetProperty("check_details")[0].GetProperty("check_method").GetString());
        Assert.StartsWith("PS", evidence.GetProperty("check_details")[0].GetProperty("txn").GetString(), StringComparison.Ordinal);
        var released = inIdToken.GetProperty("claims");
        Assert.Equal(name, released.GetProperty("name").GetString());
        Assert.Equal($"{idNumber[6..10]}-{idNumber[10..12]}-{idNumber[12..14]}", released.GetProperty("birthdate").GetString());
        Assert.Equal(idNumber[..4] + "**********" + idNumber[^4..], released.GetProperty("id_number").GetString());
        Assert.False(released.TryGetProperty("gender", out _), "gender is not in the policy");

        // userinfo asked with an array: the answer is an array; the access token itself carries no personal claim.
        var userInfo = await app.UserInfoAsync(tokens.Response.AccessToken!);
        var fromUserInfo = userInfo.GetProperty("verified_claims");
        Assert.Equal(JsonValueKind.Array, fromUserInfo.ValueKind);
        Assert.Equal(idNumber[..4] + "**********" + idNumber[^4..], fromUserInfo[0].GetProperty("claims").GetProperty("id_number").GetString());
        Assert.DoesNotContain(idNumber[..6], tokens.Response.AccessToken!.Length > 0 ? DecodePayload(tokens.Response.AccessToken) : "", StringComparison.Ordinal);
        Assert.DoesNotContain(name, DecodePayload(tokens.Response.AccessToken!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifiedClaims_PolicyReleasesIdNumberInFull_DecryptedOnlyThere()
    {
        var (citizen, _, _, idNumber) = await fixture.VerifiedCitizenAsync("薛宝钗");
        var app = await RelyingParty.RegisterAsync(fixture, new { id_number = "full", gender = "full" });

        var tokens = await app.SignInAsync(citizen, "openid", Request("id_token"));

        var released = RelyingParty.JsonClaim(tokens.IdToken, "verified_claims")!.Value.GetProperty("claims");
        Assert.Equal(idNumber, released.GetProperty("id_number").GetString());
        Assert.Equal("female", released.GetProperty("gender").GetString());
    }

    [Fact]
    public async Task VerifiedClaims_ConstraintTheVerificationDoesNotMeet_OmittedWithoutError()
    {
        var (citizen, _, _, _) = await fixture.VerifiedCitizenAsync("贾宝玉");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" });

        var higher = await app.SignInAsync(citizen, "openid", Request("id_token", "\"name\":null", "\"assurance_level\":{\"values\":[\"L3\",\"L4\"]}"));
        var otherFramework = await new RelyingParty(fixture.Server, app.ClientId, "").AuthorizeAsync(citizen,
            app.AuthorizeUrl("openid", Request("id_token", "\"name\":null", "\"trust_framework\":{\"value\":\"https://example.org/other\"}")));

        Assert.Null(RelyingParty.JsonClaim(higher.IdToken, "verified_claims"));
        Assert.NotNull(otherFramework.Callback);
    }

    [Fact]
    public async Task VerifiedClaims_PolicyReleasesNoneOfTheClaims_Omitted()
    {
        var (citizen, _, _, _) = await fixture.VerifiedCitizenAsync("王熙凤");
        var app = await RelyingParty.RegisterAsync(fixture, new { phone_number = "full" });

        var tokens = await app.SignInAsync(citizen, "openid", Request("id_token"));
        var userInfo = await app.UserInfoAsync(tokens.Response.AccessToken!);

        Assert.Null(RelyingParty.JsonClaim(tokens.IdToken, "verified_claims"));
        Assert.False(userInfo.TryGetProperty("verified_claims", out _));
    }

    [Fact]
    public async Task VerifiedClaims_L1Citizen_NothingVerifiedToRelease()
    {
        var (citizen, _) = await fixture.RegisteredCitizenAsync();
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", id_number = "full" });

        var tokens = await app.SignInAsync(citizen, "openid", Request("id_token"));

        Assert.Null(RelyingParty.JsonClaim(tokens.IdToken, "verified_claims"));
    }

    [Fact]
    public async Task ClaimsParameter_IndividualClaimWithoutItsScope_ReleasedUnderPolicyOnly()
    {
        var (citizen, _, name, _) = await fixture.VerifiedCitizenAsync("史湘云");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "masked" });

        var tokens = await app.SignInAsync(citizen, "openid", "{\"id_token\":{\"name\":null,\"id_number\":{\"essential\":true}}}");

        Assert.Equal(name[..1] + new string('*', name.Length - 1), tokens.IdToken.GetPayloadValue<string>("name"));
        Assert.False(tokens.IdToken.TryGetPayloadValue<string>("id_number", out _));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"id_token\":\"name\"}")]
    [InlineData("{\"userinfo\":{\"verified_claims\":{\"claims\":{\"name\":null}}}}")]
    [InlineData("{\"userinfo\":{\"verified_claims\":{\"verification\":{},\"claims\":{}}}}")]
    public async Task ClaimsParameter_Malformed_InvalidRequestAtTheRedirectUri(string claims)
    {
        var (citizen, _) = await fixture.RegisteredCitizenAsync();
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" });

        var (callback, last) = await app.AuthorizeAsync(citizen, app.AuthorizeUrl("openid", claims));

        Assert.True(callback is not null, $"Stopped at {last.Url}");
        var query = System.Web.HttpUtility.ParseQueryString(callback!.Query);
        Assert.Equal("invalid_request", query["error"]);
        Assert.Contains("claims", query["error_description"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refresh_VerifiedClaimsRequested_StillReleasedAfterRefresh()
    {
        var (citizen, _, name, _) = await fixture.VerifiedCitizenAsync("林冲");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" });
        var tokens = await app.SignInAsync(citizen, "openid offline_access", Request("id_token", "\"name\":null"));

        var refreshed = await app.RefreshAsync(tokens.Response.RefreshToken!);

        Assert.False(refreshed.IsError, refreshed.Error);
        var idToken = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(refreshed.IdentityToken);
        Assert.Equal(name, RelyingParty.JsonClaim(idToken, "verified_claims")!.Value.GetProperty("claims").GetProperty("name").GetString());
    }

    private static string[] Strings(JsonElement document, string property) =>
        document.GetProperty(property).EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static string DecodePayload(string jwt) =>
        System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1]));
}
