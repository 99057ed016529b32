using System.Collections.Concurrent;
using System.Data.Common;
using System.Net;
using System.Text.Json.Nodes;
using System.Web;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Sessions;
using IdentityHub.Server.Verification;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Verification;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The browser sign-in's round trips, both positions of each switch, both providers, over real HTTP:
/// Accounts:AuthorizeReusesSignInAccount (the authorization request answered after the password sign-in takes the account
/// the sign-in read ahead with its real-name record and evidence; the code it issues carries the claims a read of the
/// person gives) and Oidc:CodeGrantReadsAccountWithCode
/// (the code exchange reads the account with the code's entry; the session's state is checked by the redemption). The
/// statements each request sends are recorded by a command interceptor, by the test's request header; the tokens are
/// the same either way, and a session ended or an account locked between the code and its exchange still refuses it.
/// </summary>
public sealed class SignInRoundTripsTests
{
    private const string PhaseHeader = "X-Test-Phase";

    [Theory]
    [InlineData("Sqlite", true)]
    [InlineData("Sqlite", false)]
    [InlineData("Postgres", true)]
    [InlineData("Postgres", false)]
    public async Task SignIn_AccountReadOnceWhenItCanBe_TokensFromTheStoredPerson(string provider, bool on)
    {
        var recorder = new CommandRecorder();
        await using var server = await StartAsync(provider, on, recorder);
        var kit = new OidcKit(server);
        var publicClient = await kit.RegisterWebClientAsync();
        var pairwiseClient = await RegisterPairwiseClientAsync(kit);
        var citizen = await kit.CreateUserAsync();
        var verified = await kit.CreateUserAsync();
        await BindAsync(server, verified.Id, "测试人");
        // Several evidence rows and several claim rows: the read-ahead's rows must neither multiply nor lose either.
        await AddEvidenceAsync(server, verified.Id);
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var account = (await users.FindByIdAsync(verified.Id))!;
            Assert.True((await users.AddClaimsAsync(account, [new System.Security.Claims.Claim("hub_note", "a"),
                new System.Security.Claims.Claim("hub_note", "b")])).Succeeded);
        }
        // Evidence without a real-name record: handed over with its evidence too (no verified_claims without a record).
        var evidenceOnly = await kit.CreateUserAsync();
        await AddEvidenceAsync(server, evidenceOnly.Id);

        foreach (var client in new[] { publicClient, pairwiseClient })
        {
            foreach (var (user, isVerified, name) in new[]
                { (citizen, false, citizen.DisplayName), (verified, true, "测试人"), (evidenceOnly, true, evidenceOnly.DisplayName) })
            {
                var phase = $"{client.ClientId}-{user.UserName}";
                var (code, verifier) = await SignInForCodeAsync(server, kit, client, user, phase + "-post", claims: VerifiedNameRequest);

                // The form post: the person read again only with the switch off, verified or not (the read-ahead brings the
                // real-name record and evidence with the account when on).
                Assert.True(recorder.Count(phase + "-post", IsPersonRead) == (on ? 0 : 1), recorder.Texts(phase + "-post"));
                Assert.Equal(1, recorder.Count(phase + "-post", IsReadAhead));
                var authorized = await CodeClaimsAsync(server);

                var tokens = await RedeemAsync(server, kit, client, code, verifier, phase + "-token");
                Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
                // The code exchange: the code's entry with the account in one statement, or the two reads.
                Assert.Equal(on ? 1 : 2, recorder.Count(phase + "-token", IsCodeOrAccountRead));
                Assert.Equal(on ? 1 : 0, recorder.Count(phase + "-token", text => text.Contains("\"SsoSessions\" AS s", StringComparison.Ordinal)
                    && !text.TrimStart().StartsWith("SELECT", StringComparison.Ordinal)));

                var idToken = OidcKit.JwtPayload(tokens.IdentityToken!);
                var sub = idToken.GetProperty("sub").GetString();
                Assert.Equal(client == publicClient, sub == user.Id);
                // The verified name from the real-name record, read at the exchange whichever way.
                Assert.Equal(name, idToken.GetProperty("name").GetString());
                // verified_claims only with a real-name record (and its evidence).
                Assert.Equal(user == verified, idToken.TryGetProperty("verified_claims", out var verifiedClaims));
                if (user == verified)
                {
                    // Both evidence rows, once each (the read-ahead's claim rows multiply neither).
                    Assert.Equal(2, verifiedClaims.GetProperty("verification").GetProperty("evidence").GetArrayLength());
                }
                // What the authorize built into the code (from the person it was handed, or read) is what the exchange
                // builds from the person it reads from the database: every claim of the ID token about the person and the
                // session (name, acr, amr, sid, auth_time, verified_claims with its evidence, ...), the same JSON.
                foreach (var claim in idToken.EnumerateObject().Where(c => !TokenOnlyClaims.Contains(c.Name)))
                {
                    Assert.True(authorized.TryGetProperty(claim.Name, out var inCode), $"{claim.Name} missing from the code");
                    Assert.True(JsonNode.DeepEquals(JsonNode.Parse(claim.Value.GetRawText()), JsonNode.Parse(inCode.GetRawText())),
                        $"{claim.Name}: {claim.Value} (ID token) against {inCode} (code)");
                }

                Assert.Equal("invalid_grant", (await kit.RedeemCodeAsync(client, code, verifier)).Error);
            }
        }
    }

    /// <summary>verified_claims with the name, in the ID token (OpenID Identity Assurance: built from the record and the evidence).</summary>
    private const string VerifiedNameRequest =
        "{\"id_token\":{\"verified_claims\":{\"verification\":{\"trust_framework\":null},\"claims\":{\"name\":null}}}}";

    /// <summary>The ID token's claims about the token itself, not the person or the session: not compared with the code's.</summary>
    private static readonly HashSet<string> TokenOnlyClaims = ["iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "azp"];

    /// <summary>
    /// The claims of the one valid authorization code's payload (its entry's JWE, decrypted with the server's keys; the
    /// codes before it are redeemed): the identity the authorization endpoint built.
    /// </summary>
    private static async Task<System.Text.Json.JsonElement> CodeClaimsAsync(IdentityHubServer server)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var payload = await db.Set<IdentityHub.Server.Registry.HubToken>()
            .Where(t => t.Type == OpenIddictConstants.TokenTypeIdentifiers.Private.AuthorizationCode && t.Status == "valid")
            .Select(t => t.Payload).SingleAsync();
        var keys = server.Services.GetRequiredService<IdentityHub.Server.Oidc.ServerOnlyTokenKeys>();
        var jws = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().DecryptToken(
            new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(payload), new Microsoft.IdentityModel.Tokens.TokenValidationParameters
            {
                TokenDecryptionKeys = keys.EncryptionKeys,
            });
        return OidcKit.JwtPayload(jws);
    }

    /// <summary>
    /// The sign-in's own write of the account (a failed attempt before: the successful sign-in resets the count, a save of
    /// the account) is saved before the account is handed over, and the answer is the code as before.
    /// </summary>
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task SignIn_AfterAFailedAttempt_CountResetAndSaved_AccountStillHandedOver(string provider)
    {
        var recorder = new CommandRecorder();
        await using var server = await StartAsync(provider, on: true, recorder);
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            Assert.True((await users.AccessFailedAsync((await users.FindByIdAsync(user.Id))!)).Succeeded);
        }

        var (code, verifier) = await SignInForCodeAsync(server, kit, client, user, "post");

        Assert.True(recorder.Count("post", IsPersonRead) == 0, recorder.Texts("post"));
        Assert.Equal(1, recorder.Count("post", text => text.TrimStart().StartsWith("UPDATE \"AspNetUsers\"", StringComparison.Ordinal)));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(0, await db.Users.Where(u => u.Id == user.Id).Select(u => u.AccessFailedCount).SingleAsync());
        }

        Assert.False((await kit.RedeemCodeAsync(client, code, verifier)).IsError);
    }

    /// <summary>
    /// Between the code and its exchange the session is ended (its row only, as a logout's first write; the revocation of
    /// its tokens not yet made) or the account is locked: the exchange is refused, whichever switch position, with
    /// nothing written (no entry redeemed, none added), with offline_access (the redemption with the refresh token's entry)
    /// and without it (the code's redemption alone).
    /// </summary>
    [Theory]
    [InlineData("Sqlite", true, "session-ended", true)]
    [InlineData("Sqlite", false, "session-ended", true)]
    [InlineData("Postgres", true, "session-ended", true)]
    [InlineData("Postgres", false, "session-ended", true)]
    [InlineData("Postgres", true, "locked", true)]
    [InlineData("Postgres", false, "locked", true)]
    [InlineData("Sqlite", true, "session-ended", false)]
    [InlineData("Postgres", true, "session-ended", false)]
    [InlineData("Postgres", false, "session-ended", false)]
    public async Task CodeExchange_SessionEndedOrAccountLockedMeanwhile_Refused(string provider, bool on, string change, bool offline)
    {
        await using var server = await StartAsync(provider, on, new CommandRecorder());
        var kit = new OidcKit(server);
        var client = await RegisterPairwiseClientAsync(kit);
        var user = await kit.CreateUserAsync();
        var (code, verifier) = await SignInForCodeAsync(server, kit, client, user, "post", offline ? OidcKit.WebScopes : "openid profile");

        await using (var scope = server.Services.CreateAsyncScope())
        {
            if (change == "session-ended")
            {
                var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
                var session = await db.Set<SsoSession>().SingleAsync(s => s.UserId == user.Id);
                session.EndedAtUtc = DateTime.UtcNow;
                await db.SaveChangesAsync();
            }
            else
            {
                var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
                Assert.True((await users.SetLockoutEndDateAsync((await users.FindByIdAsync(user.Id))!, DateTimeOffset.UtcNow.AddHours(1))).Succeeded);
            }
        }

        var before = await TokenEntriesAsync(server);
        var refused = await kit.RedeemCodeAsync(client, code, verifier);
        Assert.Equal("invalid_grant", refused.Error);
        Assert.Null(refused.AccessToken);
        Assert.Equal(before, await TokenEntriesAsync(server));
    }

    /// <summary>How many token entries there are, and how many of them are redeemed.</summary>
    private static async Task<(int All, int Redeemed)> TokenEntriesAsync(IdentityHubServer server)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        return (await db.Set<IdentityHub.Server.Registry.HubToken>().CountAsync(),
            await db.Set<IdentityHub.Server.Registry.HubToken>().CountAsync(t => t.Status == "redeemed"));
    }

    private static Task<IdentityHubServer> StartAsync(string provider, bool on, CommandRecorder recorder) =>
        IdentityHubServer.StartAsync(provider, settings =>
        {
            settings["Accounts:AuthorizeReusesSignInAccount"] = on.ToString();
            settings["Oidc:CodeGrantReadsAccountWithCode"] = on.ToString();
            // The recorder is an EF Core interceptor: the code's redemption stays on the context so that it is counted
            // (it otherwise goes through Data/MultiplexedStatements on PostgreSQL, Data/SqliteTokenStatements on SQLite;
            // MultiplexedStatementsTests, SqliteTokenStatementsTests).
            settings["Database:MultiplexTokenStatements"] = "false";
            settings["Database:SqliteGroupTokenStatements"] = "false";
        }, services => services.AddSingleton<IInterceptor>(provider =>
        {
            recorder.Accessor = provider.GetRequiredService<IHttpContextAccessor>();
            return recorder;
        }));

    private static async Task<WebClient> RegisterPairwiseClientAsync(OidcKit kit)
    {
        var clientId = OidcKit.UniqueId("pairwise");
        var redirect = $"https://{clientId}.apps.test/signin-oidc";
        var secret = await kit.Admin.RegisterClientAsync(clientId, "confidential", ["authorization_code", "refresh_token"], [redirect],
            ["openid", "profile", "phone", "offline_access"], subjectType: "pairwise");
        return new WebClient(clientId, secret, redirect, $"https://{clientId}.apps.test/signout-callback-oidc");
    }

    /// <summary>A verification's evidence row alone (no real-name record).</summary>
    private static async Task AddEvidenceAsync(IdentityHubServer server, string userId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        db.Add(new VerificationEvidence
        {
            UserId = userId, Level = 2, Check = EvidenceChecks.CarrierThreeElement, Provider = "carrier", VerifiedAtUtc = DateTime.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    /// <summary>A verified identity (real-name record, evidence, level 2), as the verification pages bind it.</summary>
    private static async Task BindAsync(IdentityHubServer server, string userId, string name)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var check = IdNumber.Validate(TestIdentities.NewIdNumber(), DateOnly.FromDateTime(DateTime.UtcNow));
        Assert.Equal(BindResult.Bound, await scope.ServiceProvider.GetRequiredService<RealNameService>().BindAsync((await users.FindByIdAsync(userId))!,
            name, check, new EvidenceInput(2, EvidenceChecks.PublicSecurityTwoElement, "public-security", "tx-1"), AuditActor.User(userId, null),
            CancellationToken.None));
    }

    /// <summary>The authorize request, the sign-in page, and the form post (sent with <paramref name="phase"/>), answered with the code.</summary>
    private static async Task<(string Code, string Verifier)> SignInForCodeAsync(IdentityHubServer server, OidcKit kit, WebClient client, TestUser user,
        string phase, string scope = OidcKit.WebScopes, string? claims = null)
    {
        var pkce = Pkce.Create();
        var state = OidcKit.UniqueId("state");
        using var http = server.CreateHttpClient(followRedirects: false, cookies: new CookieContainer());
        var url = await kit.AuthorizeUrlAsync(client, pkce, state, OidcKit.UniqueId("nonce"), scope);
        using var authorize = await http.GetAsync(claims is null ? url : url + "&claims=" + Uri.EscapeDataString(claims));
        var loginPage = new Uri(server.BaseAddress, authorize.Headers.Location!);
        var html = await http.GetStringAsync(loginPage);
        using var post = new HttpRequestMessage(HttpMethod.Post, loginPage)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = user.UserName,
                ["Input.Password"] = user.Password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
                ["ReturnUrl"] = HttpUtility.ParseQueryString(loginPage.Query)["ReturnUrl"]!,
            }),
        };
        post.Headers.Add(PhaseHeader, phase);
        using var answer = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.Equal(client.RedirectUri, answer.Headers.Location!.GetLeftPart(UriPartial.Path));
        var callback = HttpUtility.ParseQueryString(answer.Headers.Location.Query);
        Assert.Equal(state, callback["state"]);
        return (callback["code"]!, pkce.Verifier);
    }

    private static async Task<TokenResponse> RedeemAsync(IdentityHubServer server, OidcKit kit, WebClient client, string code,
        string verifier, string phase)
    {
        var disco = await kit.DiscoveryAsync();
        using var http = server.CreateHttpClient();
        http.DefaultRequestHeaders.Add(PhaseHeader, phase);
        return await http.RequestAuthorizationCodeTokenAsync(
            new AuthorizationCodeTokenRequest
            {
                Address = disco.TokenEndpoint,
                ClientId = client.ClientId,
                ClientSecret = client.Secret,
                Code = code,
                RedirectUri = client.RedirectUri,
                CodeVerifier = verifier,
            });
    }

    /// <summary>
    /// A read of the person (the account with its real-name record and evidence joined): not the read-ahead (which joins
    /// them too, with the known devices and claim rows), nor Identity's check of the user name's uniqueness when the
    /// account is saved.
    /// </summary>
    private static bool IsPersonRead(string text) =>
        text.TrimStart().StartsWith("SELECT", StringComparison.Ordinal) && text.Contains("JOIN \"RealNameRecords\"", StringComparison.Ordinal)
        && !IsReadAhead(text);

    /// <summary>The password form's read-ahead: the account with its known devices' EXISTS and its claim rows.</summary>
    private static bool IsReadAhead(string text) =>
        text.TrimStart().StartsWith("SELECT", StringComparison.Ordinal) && text.Contains("\"KnownDevices\"", StringComparison.Ordinal)
        && text.Contains("\"AspNetUserClaims\"", StringComparison.Ordinal);

    /// <summary>A read of the code's entry or of the account behind it.</summary>
    private static bool IsCodeOrAccountRead(string text) =>
        text.TrimStart().StartsWith("SELECT", StringComparison.Ordinal)
        && (text.Contains("\"OpenIddictTokens\"", StringComparison.Ordinal) || text.Contains("\"AspNetUsers\"", StringComparison.Ordinal));

    /// <summary>Every command the server's contexts send, with the test's phase header of the request it was sent for.</summary>
    private sealed class CommandRecorder : CommandObserver
    {
        private readonly ConcurrentQueue<(string? Phase, string Text)> _commands = new();

        public IHttpContextAccessor? Accessor { get; set; }

        public int Count(string phase, Func<string, bool> match) => _commands.Count(c => c.Phase == phase && match(c.Text));

        /// <summary>The commands of a phase, for a failure's message.</summary>
        public string Texts(string phase) => string.Join("\n---\n", _commands.Where(c => c.Phase == phase).Select(c => c.Text));

        protected override void Observe(DbCommand command)
        {
            var phase = Accessor?.HttpContext?.Request.Headers[PhaseHeader].ToString();
            _commands.Enqueue((string.IsNullOrEmpty(phase) ? null : phase, command.CommandText));
        }
    }
}
