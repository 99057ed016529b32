using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Registry;

/// <summary>Pairwise subjects and claim release policies, through the real authorization code flow.</summary>
public sealed class SubjectAndClaimPolicyTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    private const string Scope = "openid profile phone email identity offline_access";

    [Fact]
    public async Task PairwiseSubjects_TwoDepartments_DifferentSub_SameDepartment_SameSub()
    {
        var (citizen, _) = await CitizenAsync();
        var departmentA = await fixture.CreateDepartmentAsync();
        var departmentB = await fixture.CreateDepartmentAsync();
        var (a1, a1Secret) = await ClientAsync(departmentA);
        var (a2, a2Secret) = await ClientAsync(departmentA);
        var (b1, b1Secret) = await ClientAsync(departmentB);

        var flow = new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server));
        var first = await flow.SignInAsync(a1, a1Secret, Scope, citizen, RegistryFixture.Password);
        var again = await flow.SignInAsync(a1, a1Secret, Scope, citizen, RegistryFixture.Password);
        var sibling = await flow.SignInAsync(a2, a2Secret, Scope, citizen, RegistryFixture.Password);
        var other = await flow.SignInAsync(b1, b1Secret, Scope, citizen, RegistryFixture.Password);

        Assert.Equal(first.IdToken.Subject, again.IdToken.Subject);
        Assert.Equal(first.IdToken.Subject, sibling.IdToken.Subject);
        Assert.NotEqual(first.IdToken.Subject, other.IdToken.Subject);
        Assert.Equal(first.IdToken.Subject, first.UserInfo.GetProperty("sub").GetString());
        Assert.Equal(other.IdToken.Subject, other.UserInfo.GetProperty("sub").GetString());

        // Refresh maps the pairwise sub back to the same person. The client did not register idTokenOnRefresh, so the refresh
        // returns no ID token (OpenID Connect Core 1.0 section 12.2); userinfo with the refreshed access token names the person.
        using var http = fixture.Server.CreateHttpClient();
        var refreshed = await Duende.IdentityModel.Client.HttpClientTokenRequestExtensions.RequestRefreshTokenAsync(http,
            new Duende.IdentityModel.Client.RefreshTokenRequest
            {
                Address = fixture.Server.Authority + "/connect/token", ClientId = a1, ClientSecret = a1Secret, RefreshToken = first.Tokens.RefreshToken!,
            });
        Assert.False(refreshed.IsError, refreshed.Error + " " + refreshed.ErrorDescription);
        Assert.Null(refreshed.IdentityToken);
        var refreshedUserInfo = await Duende.IdentityModel.Client.HttpClientUserInfoExtensions.GetUserInfoAsync(http,
            new Duende.IdentityModel.Client.UserInfoRequest { Address = fixture.Server.Authority + "/connect/userinfo", Token = refreshed.AccessToken });
        Assert.False(refreshedUserInfo.IsError, refreshedUserInfo.Error);
        Assert.Equal(first.IdToken.Subject, refreshedUserInfo.Json?.GetProperty("sub").GetString());

        using var discovery = await http.GetAsync("/.well-known/openid-configuration");
        var subjectTypes = (await RegistryFixture.Expect(discovery, HttpStatusCode.OK)).GetProperty("subject_types_supported").EnumerateArray()
            .Select(e => e.GetString()).ToList();
        Assert.Contains("pairwise", subjectTypes);
        Assert.Contains("public", subjectTypes);
    }

    /// <summary>
    /// Oidc:PairwiseSubjectCacheSize: the node remembers the mapping row as stored and skips its insert. A row gone from the
    /// database all the same (a manual erasure, a failover that lost the last commits) is found missing by the next
    /// lookup of the sub (the code's redemption: refused, no account), which makes the node forget the pair, so the
    /// person's next authorize writes the row again.
    /// </summary>
    [Fact]
    public async Task PairwiseSubjects_MappingRowErasedWhileRemembered_NextLookupForgetsItAndTheNextSignInWritesItAgain()
    {
        var (citizen, _) = await CitizenAsync();
        var department = await fixture.CreateDepartmentAsync();
        var (client, secret) = await ClientAsync(department);
        var flow = new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server));
        var sub = (await flow.SignInAsync(client, secret, Scope, citizen, RegistryFixture.Password)).IdToken.Subject;
        Assert.Equal(1, await MappingRowsAsync(sub));

        Assert.Equal(1, await MappingRowsAsync(sub, erase: true));

        // The authorize skips the insert (the pair is remembered); the code's redemption finds no account for the sub.
        var refused = await flow.CodeForTokensAsync(client, secret, Scope, citizen, RegistryFixture.Password);
        Assert.Equal("invalid_grant", refused.Error);
        Assert.Equal(0, await MappingRowsAsync(sub));

        var again = await flow.SignInAsync(client, secret, Scope, citizen, RegistryFixture.Password);
        Assert.Equal(sub, again.IdToken.Subject);
        Assert.Equal(1, await MappingRowsAsync(sub));
    }

    /// <summary>The PairwiseSubjects rows of a sub (deleted, with <paramref name="erase"/>).</summary>
    private async Task<int> MappingRowsAsync(string sub, bool erase = false)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var rows = scope.ServiceProvider.GetRequiredService<IdentityHub.Server.Data.IdentityHubDbContext>().PairwiseSubjects.Where(p => p.Subject == sub);
        return erase ? await rows.ExecuteDeleteAsync() : await rows.CountAsync();
    }

    [Fact]
    public async Task ClaimPolicies_SameCitizenTwoClients_ExactlyTheAllowedClaims()
    {
        var (citizen, _) = await CitizenAsync();
        var department = await fixture.CreateDepartmentAsync();
        using (var http = await fixture.PlatformClientAsync())
        using (var ceiling = await http.PutAsJsonAsync($"/api/admin/departments/{department}/ceiling",
                   new { claims = new { name = "full", preferred_username = "full", phone_number = "full", email = "full", id_number = "masked", verification_level = "full" } }))
        {
            await RegistryFixture.Expect(ceiling, HttpStatusCode.OK);
        }

        var (full, fullSecret) = await ClientAsync(department, new { name = "full", phone_number = "full", verification_level = "full" });
        var (masked, maskedSecret) = await ClientAsync(department, new { name = "masked", phone_number = "masked", id_number = "masked" });

        var flow = new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server));
        var fullResult = await flow.SignInAsync(full, fullSecret, Scope, citizen, RegistryFixture.Password);
        var maskedResult = await flow.SignInAsync(masked, maskedSecret, Scope, citizen, RegistryFixture.Password);

        var expectedFull = new Dictionary<string, string>
        {
            ["name"] = "王小明", ["phone_number"] = Phone(citizen), ["phone_number_verified"] = "false", ["verification_level"] = "L1",
        };
        // The ID number has no data yet: masked or not, nothing is released; e-mail and user name are not in the policy.
        var expectedMasked = new Dictionary<string, string>
        {
            ["name"] = "王**", ["phone_number"] = Phone(citizen)[..3] + "****" + Phone(citizen)[^4..], ["phone_number_verified"] = "false",
        };
        AssertPersonalClaims(expectedFull, IdTokenClaims(fullResult));
        AssertPersonalClaims(expectedFull, UserInfoClaims(fullResult.UserInfo));
        AssertPersonalClaims(expectedMasked, IdTokenClaims(maskedResult));
        AssertPersonalClaims(expectedMasked, UserInfoClaims(maskedResult.UserInfo));
        // Personal claims never go into the access token.
        Assert.DoesNotContain(Phone(citizen), DecodeAccessToken(fullResult));
    }

    [Fact]
    public async Task MinimumAssuranceLevel_AboveTheAccounts_StepUpPageThenDeclinedUnmetAuthenticationRequirements()
    {
        var (citizen, _) = await CitizenAsync();
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("l2");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, minimumAssuranceLevel: 2));
        var browser = new BrowserlessSignIn(fixture.Server);
        var url = new RequestUrl(fixture.Server.Authority + "/connect/authorize").CreateAuthorizeUrl(
            clientId: clientId, responseType: "code", scope: "openid profile", redirectUri: OidcFlow.RedirectUri(clientId), state: "s1",
            codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", codeChallengeMethod: "S256");

        // The account is L1: after signing in, the person is taken to verification (step-up) ...
        var stepUp = await browser.AuthorizeAsync(url, citizen, RegistryFixture.Password);
        Assert.Equal("/Account/Verify", stepUp.LastUrl.AbsolutePath);
        Assert.Equal("2", System.Web.HttpUtility.ParseQueryString(stepUp.LastUrl.Query)["required"]);

        // ... and declining sends the app the standard error.
        var returnUrl = System.Web.HttpUtility.ParseQueryString(stepUp.LastUrl.Query)["ReturnUrl"]!;
        using var http = fixture.Server.CreateHttpClient(cookies: browser.Cookies);
        using var declined = await http.PostAsync("/Account/Verify?handler=Decline", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ReturnUrl"] = returnUrl,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(stepUp.FinalBody!),
        }));
        Assert.Equal(HttpStatusCode.Redirect, declined.StatusCode);
        var callback = (await browser.AuthorizeAsync(new Uri(fixture.Server.BaseAddress, declined.Headers.Location!).ToString())).Callback!;
        var query = System.Web.HttpUtility.ParseQueryString(callback.Query);
        Assert.Equal("unmet_authentication_requirements", query["error"]);
        Assert.Equal("s1", query["state"]);
        Assert.Null(query["code"]);
    }

    [Fact]
    public async Task SuspendDepartment_IssuedAccessTokenLosesUserInfo_RefreshRefused()
    {
        var (citizen, _) = await CitizenAsync();
        var department = await fixture.CreateDepartmentAsync();
        var (clientId, secret) = await ClientAsync(department);
        var flow = new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server));
        var signedIn = await flow.SignInAsync(clientId, secret, Scope, citizen, RegistryFixture.Password);

        using var http = await fixture.PlatformClientAsync();
        using (var suspended = await http.PostAsync($"/api/admin/departments/{department}/suspend", null))
        {
            await RegistryFixture.Expect(suspended, HttpStatusCode.OK);
        }

        using var anonymous = fixture.Server.CreateHttpClient();
        var userInfo = await Duende.IdentityModel.Client.HttpClientUserInfoExtensions.GetUserInfoAsync(anonymous,
            new Duende.IdentityModel.Client.UserInfoRequest { Address = fixture.Server.Authority + "/connect/userinfo", Token = signedIn.Tokens.AccessToken });
        Assert.True(userInfo.IsError);
        using var refresh = await anonymous.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["client_id"] = clientId, ["client_secret"] = secret, ["refresh_token"] = signedIn.Tokens.RefreshToken!,
        }));
        Assert.Equal("unauthorized_client", (await RegistryFixture.Expect(refresh, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
    }

    private static readonly HashSet<string> ProtocolClaims =
    [
        "iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "sid", "auth_time", "amr", "acr", "oi_au_id", "oi_tkn_id", "jti",
    ];

    private static Dictionary<string, string> IdTokenClaims(OidcFlow.Result result) =>
        result.IdToken.Claims.Where(c => !ProtocolClaims.Contains(c.Type)).ToDictionary(c => c.Type, c => c.Value);

    private static Dictionary<string, string> UserInfoClaims(JsonElement userInfo) =>
        userInfo.EnumerateObject().Where(p => p.Name != "sub")
            .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());

    private static void AssertPersonalClaims(Dictionary<string, string> expected, Dictionary<string, string> actual) =>
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(a => a.Key));

    private static string DecodeAccessToken(OidcFlow.Result result) =>
        string.Join(",", new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(result.Tokens.AccessToken).Claims.Select(c => c.Value));

    private readonly Dictionary<string, string> _phones = [];

    private string Phone(string userName) => _phones[userName];

    private async Task<(string UserName, string Id)> CitizenAsync()
    {
        var userName = RegistryFixture.Unique("c");
        var phone = "139" + Random.Shared.Next(10_000_000, 99_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _phones[userName] = phone;
        var id = await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password, phone, "王小明");
        return (userName, id);
    }

    private async Task<(string ClientId, string Secret)> ClientAsync(string department, object? claimPolicy = null)
    {
        var clientId = RegistryFixture.Unique("app");
        var secret = await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, claimPolicy));
        return (clientId, secret!);
    }
}
