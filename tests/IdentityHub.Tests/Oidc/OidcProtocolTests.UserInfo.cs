using Duende.IdentityModel.Client;
using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The userinfo fast path (Oidc/Handlers/UserInfoFastPath, Oidc:UserinfoFastPath, on by default) against OpenIddict's normal
/// pipeline on one server: a plain request (GET, or POST of an empty form, bearer token in the Authorization header) is
/// answered by the fast path; the same request with an unknown parameter (which OpenIddict ignores) goes to the normal path;
/// both answers carry the same status, headers, JSON members and values, and write the same claims.released event. What the
/// fast path leaves alone (a revoked token, an ended session, a suspended department, the token in the form body) gets the
/// normal path's answer, and the fast path's meter counts only what it answered. The same for tokens signed with the server's
/// own key but unusual (expired, nbf, cnf, azp, two presenters, a token entry, another issuer, typ JWT), tokens signed
/// otherwise (a foreign RSA key, HS256), an ID token, unusual requests (DPoP, two Authorization headers, the token in the
/// query) and a token of a client disabled and enabled since: each of these cases fails if the fast path's check for it
/// is deleted.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private async Task<(HttpResponseMessage Response, JsonElement Json)> UserInfoRequestAsync(string token, bool post, string? extra = null,
        bool inBody = false)
    {
        using var http = Server.CreateHttpClient();
        var path = "/connect/userinfo" + (post || extra is null ? "" : "?" + extra + "=1");
        using var request = new HttpRequestMessage(post ? HttpMethod.Post : HttpMethod.Get, path);
        if (post)
        {
            var form = new List<KeyValuePair<string, string>>();
            if (extra is not null)
            {
                form.Add(new(extra, "1"));
            }

            if (inBody)
            {
                form.Add(new("access_token", token));
            }

            request.Content = new FormUrlEncodedContent(form);
        }

        if (!inBody)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        // A refusal's body is whatever the status code pages make of it: kept as a string to compare.
        var json = body.Length == 0 ? default
            : response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(body).RootElement.Clone()
            : JsonSerializer.SerializeToElement(body);
        return (response, json);
    }

    /// <summary>The claims.released events of a client, oldest first, without what differs per request (time, address, correlation).</summary>
    private async Task<List<string>> ReleasesAsync(string clientId)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var events = await db.AuditEvents.AsNoTracking().Where(e => e.ClientId == clientId && e.EventType == "claims.released")
            .OrderBy(e => e.Id).ToListAsync();
        return [.. events.Select(e => string.Join("|", e.Category, e.Outcome, e.ActorKind, e.ActorId, e.SubjectId, e.ClientId, e.TargetType,
            e.TargetId, e.DepartmentCode, e.SessionId, e.Data))];
    }

    /// <summary>As <see cref="AssertSameAnswer"/> (status, headers, members in order); a non-JSON body (a refusal) by its text.</summary>
    private static void AssertSameUserInfo((HttpResponseMessage Response, JsonElement Json) expected, (HttpResponseMessage Response, JsonElement Json) actual)
    {
        if (expected.Json.ValueKind == JsonValueKind.Object)
        {
            AssertSameAnswer(expected, actual);
            return;
        }

        Assert.Equal(expected.Response.StatusCode, actual.Response.StatusCode);
        Assert.Equal(expected.Response.Content.Headers.ContentType?.ToString(), actual.Response.Content.Headers.ContentType?.ToString());
        Assert.Equal(expected.Response.Headers.CacheControl?.ToString(), actual.Response.Headers.CacheControl?.ToString());
        Assert.Equal(expected.Response.Headers.WwwAuthenticate.ToString(), actual.Response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(expected.Json.ToString(), actual.Json.ToString());
    }

    /// <summary>
    /// The token is refused with <paramref name="status"/> and <paramref name="error"/> in WWW-Authenticate (RFC 6750
    /// section 3), by GET and POST, on the fast path (plain request) and the normal path (an ignored extra parameter).
    /// </summary>
    private async Task AssertUserInfoRefusedAsync(string token, HttpStatusCode status, string error)
    {
        foreach (var (post, extra) in new[] { (false, (string?)null), (true, null), (false, "x_ignored"), (true, "x_ignored") })
        {
            var (response, json) = await UserInfoRequestAsync(token, post, extra);
            Assert.True(response.StatusCode == status, $"{(post ? "POST" : "GET")} {extra}: {response.StatusCode} {json}");
            Assert.Contains(error, response.Headers.WwwAuthenticate.ToString());
        }
    }

    /// <summary>
    /// OIDC Core section 5.3: userinfo answers for the end-user an OpenID Connect request authorised. A client-credentials
    /// token (its sub is the client's own id, and it never carries openid) gets nothing, even when a department administrator
    /// named the client after a citizen's account id; so does a user's token narrowed to scopes without openid: 403
    /// insufficient_scope (RFC 6750 section 3.1). Both on the fast path (plain request) and the normal path (an ignored extra
    /// parameter), nothing released.
    /// </summary>
    [Fact]
    public async Task UserInfo_ServiceTokenNamedAfterAnAccount_Refused_TokenWithoutOpenid_InsufficientScope()
    {
        var user = await Kit.CreateUserAsync();
        var secret = (await Kit.Admin.RegisterClientAsync(user.Id, "confidential", ["client_credentials"], [], ["profile", "phone"]))!;
        var (tokenResponse, tokenJson) = await PostClientCredentialsAsync(user.Id, secret, ("scope", "profile phone"));
        Assert.True(tokenResponse.StatusCode == HttpStatusCode.OK, tokenJson.ToString());
        var serviceToken = tokenJson.GetProperty("access_token").GetString()!;
        Assert.Equal(user.Id, OidcKit.JwtPayload(serviceToken).GetProperty("sub").GetString());
        // No openid scope (client credentials never grant it): refused before its sub is read as anyone's.
        await AssertUserInfoRefusedAsync(serviceToken, HttpStatusCode.Forbidden, "insufficient_scope");

        Assert.Empty(await ReleasesAsync(user.Id));

        // The same client allowed openid: a client-credentials token then carries openid, but no session id (it was not
        // issued for a signed-in user): 401 invalid_token on both paths.
        var second = await Kit.CreateUserAsync();
        var openidSecret = (await Kit.Admin.RegisterClientAsync(second.Id, "confidential", ["client_credentials"], [], ["openid", "profile", "phone"]))!;
        var (openidResponse, openidJson) = await PostClientCredentialsAsync(second.Id, openidSecret, ("scope", "openid profile phone"));
        Assert.True(openidResponse.StatusCode == HttpStatusCode.OK, openidJson.ToString());
        var openidToken = openidJson.GetProperty("access_token").GetString()!;
        Assert.Contains("openid", OidcKit.JwtPayload(openidToken).GetProperty("scope").GetString()!.Split(' '));
        await AssertUserInfoRefusedAsync(openidToken, HttpStatusCode.Unauthorized, "invalid_token");

        Assert.Empty(await ReleasesAsync(second.Id));

        var client = await Kit.RegisterWebClientAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        var narrowed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.Secret,
            RefreshToken = flow.Tokens.RefreshToken!,
            Scope = "profile phone",
        });
        Assert.False(narrowed.IsError, $"{narrowed.Error} {narrowed.ErrorDescription}");
        Assert.DoesNotContain("openid", OidcKit.JwtPayload(narrowed.AccessToken!).GetProperty("scope").GetString()!.Split(' '));
        var releasedBefore = (await ReleasesAsync(client.ClientId)).Count;
        await AssertUserInfoRefusedAsync(narrowed.AccessToken!, HttpStatusCode.Forbidden, "insufficient_scope");

        Assert.Equal(releasedBefore, (await ReleasesAsync(client.ClientId)).Count);
        // The same user's token with openid still answers (what is refused above is the token, not the user).
        var (ok, okJson) = await UserInfoRequestAsync(flow.Tokens.AccessToken!, post: false);
        Assert.True(ok.StatusCode == HttpStatusCode.OK, okJson.ToString());
    }

    [Fact]
    public async Task UserInfo_FastPath_AnswersAsTheNormalPath_RefusalsByTheNormalPath()
    {
        if (Environment.GetEnvironmentVariable("Oidc__UserinfoFastPath") is "false")
        {
            // The whole class runs against the normal path then: nothing to compare with.
            return;
        }

        // A public-subject client of the test department and a pairwise client of a department of its own; one user.
        var client = await Kit.RegisterWebClientAsync();
        var department = UniqueNames.Department();
        var pairwiseId = OidcKit.UniqueId("web");
        var pairwiseBase = $"https://{pairwiseId}.apps.test";
        var pairwiseSecret = await Kit.Admin.RegisterClientAsync(pairwiseId, "confidential", ["authorization_code", "refresh_token"],
            [pairwiseBase + "/signin-oidc"], ["openid", "profile", "phone", "offline_access"], [pairwiseBase + "/signout-callback-oidc"],
            department, "pairwise");
        var pairwise = new WebClient(pairwiseId, pairwiseSecret, pairwiseBase + "/signin-oidc", pairwiseBase + "/signout-callback-oidc");
        using var meter = new FastPathMeter("identityhub.userinfo.fast_path", client.ClientId, pairwise.ClientId);

        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var publicToken = (await Kit.CodeFlowAsync(browser, client, user)).Tokens.AccessToken!;
        var pairwiseToken = (await Kit.CodeFlowAsync(browser, pairwise, user)).Tokens.AccessToken!;
        Assert.NotEqual(user.Id, OidcKit.JwtPayload(pairwiseToken).GetProperty("sub").GetString());

        // A token that carries a claims request's userinfo member (OpenID Connect Core section 5.5), scope openid only.
        var pkce = Pkce.Create();
        var url = await Kit.AuthorizeUrlAsync(client, pkce, OidcKit.UniqueId("state"), OidcKit.UniqueId("nonce"), "openid")
            + "&claims=" + Uri.EscapeDataString("""{"userinfo":{"phone_number":null,"preferred_username":null}}""");
        var callback = await OidcKit.AuthorizeToCallbackAsync(browser, url, user, client.RedirectUri);
        var requested = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(requested.IsError, requested.Error);
        var claimsToken = requested.AccessToken!;
        Assert.True(OidcKit.JwtPayload(claimsToken).TryGetProperty("ih_claims", out _), "the access token carries the claims request");

        async Task SameAnswerAsync(string clientId, string token, HttpStatusCode status, bool answeredByFastPath)
        {
            foreach (var post in new[] { false, true })
            {
                var releases = (await ReleasesAsync(clientId)).Count;
                var before = meter.Count;
                var answered = await UserInfoRequestAsync(token, post);
                Assert.True(answered.Response.StatusCode == status, $"{answered.Response.StatusCode} {answered.Json}");
                Assert.Equal(before + (answeredByFastPath ? 1 : 0), meter.Count);

                var normal = await UserInfoRequestAsync(token, post, "x_ignored");
                Assert.Equal(before + (answeredByFastPath ? 1 : 0), meter.Count);
                AssertSameUserInfo(normal, answered);

                // The same claims.released event from both paths (one each), or none for a refusal.
                var after = await ReleasesAsync(clientId);
                if (status == HttpStatusCode.OK)
                {
                    Assert.Equal(releases + 2, after.Count);
                    Assert.Equal(after[^2], after[^1]);
                    Assert.Equal("no-store", answered.Response.Headers.CacheControl?.ToString());
                    Assert.Equal(OidcKit.JwtPayload(token).GetProperty("sub").GetString(), answered.Json.GetProperty("sub").GetString());
                }
                else
                {
                    Assert.Equal(releases, after.Count);
                    Assert.Contains("invalid_token", answered.Response.Headers.WwwAuthenticate.ToString());
                }
            }
        }

        await SameAnswerAsync(client.ClientId, publicToken, HttpStatusCode.OK, answeredByFastPath: true);
        await SameAnswerAsync(pairwise.ClientId, pairwiseToken, HttpStatusCode.OK, answeredByFastPath: true);
        await SameAnswerAsync(client.ClientId, claimsToken, HttpStatusCode.OK, answeredByFastPath: true);
        var publicAnswer = await UserInfoRequestAsync(publicToken, post: false);
        var claimsAnswer = await UserInfoRequestAsync(claimsToken, post: false);
        Assert.Contains("phone_number", claimsAnswer.Json.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain("name", claimsAnswer.Json.EnumerateObject().Select(p => p.Name));
        Assert.Contains("name", publicAnswer.Json.EnumerateObject().Select(p => p.Name));

        // The token in the form body (RFC 6750 section 2.2): the normal path's answer, not counted.
        var counted = meter.Count;
        var inBody = await UserInfoRequestAsync(publicToken, post: true, inBody: true);
        Assert.Equal(HttpStatusCode.OK, inBody.Response.StatusCode);
        AssertSameUserInfo(publicAnswer, inBody);
        Assert.Equal(counted, meter.Count);

        // An account locked by failed sign-ins keeps its access tokens (AccountLockedByFailedAttempts...): still answered,
        // by the fast path, as the normal path answers.
        var form = new LoginForm(Server);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await form.SignInAsync(user.UserName, user.Password + "-wrong");
        }

        await SameAnswerAsync(client.ClientId, publicToken, HttpStatusCode.OK, answeredByFastPath: true);

        // Revoked (RFC 7009): 401 invalid_token from the normal path.
        var revocation = await RevokeAsync(client.ClientId, client.Secret, publicToken, "access_token");
        Assert.Equal(HttpStatusCode.OK, revocation.HttpStatusCode);
        await SameAnswerAsync(client.ClientId, publicToken, HttpStatusCode.Unauthorized, answeredByFastPath: false);

        // Every session of the user ended (the administrators' API): the session's tokens are refused.
        using (var admin = Server.CreateHttpClient())
        {
            admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
            using var ended = await admin.DeleteAsync($"/api/admin/users/{user.Id}/sessions");
            Assert.True(ended.IsSuccessStatusCode, $"{ended.StatusCode} {await ended.Content.ReadAsStringAsync()}");
        }

        await SameAnswerAsync(client.ClientId, claimsToken, HttpStatusCode.Unauthorized, answeredByFastPath: false);

        // A suspended department: its client loses userinfo at once (the pairwise client's token, issued in another
        // session, first a second time to show it was still answered).
        var secondUser = await Kit.CreateUserAsync();
        var suspendedToken = (await Kit.CodeFlowAsync(NewBrowser(), pairwise, secondUser)).Tokens.AccessToken!;
        await SameAnswerAsync(pairwise.ClientId, suspendedToken, HttpStatusCode.OK, answeredByFastPath: true);
        using (var admin = Server.CreateHttpClient())
        {
            admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
            using var suspended = await admin.PostAsync($"/api/admin/departments/{department}/suspend", null);
            Assert.True(suspended.IsSuccessStatusCode, $"{suspended.StatusCode} {await suspended.Content.ReadAsStringAsync()}");
        }

        await SameAnswerAsync(pairwise.ClientId, suspendedToken, HttpStatusCode.Unauthorized, answeredByFastPath: false);
    }

    /// <summary>
    /// Counts one fast path's answers (identityhub.userinfo.fast_path, identityhub.refresh.fast_path) for the given clients
    /// only: other tests running at the same time answer for their own clients.
    /// </summary>
    private sealed class FastPathMeter : IDisposable
    {
        private readonly HashSet<string> _clients;
        private readonly MeterListener _listener = new();
        private long _count;

        public FastPathMeter(string instrumentName, params string[] clients)
        {
            _clients = [.. clients];
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "IdentityHub" && instrument.Name == instrumentName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "client_id" && tag.Value is string id && _clients.Contains(id))
                    {
                        Interlocked.Add(ref _count, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A userinfo request as <see cref="UserInfoRequestAsync"/> reads its answer, with the request shaped by the caller.</summary>
    private async Task<(HttpResponseMessage Response, JsonElement Json)> UserInfoVariantAsync(string query, bool post, Action<HttpRequestMessage> shape,
        string? extra = null)
    {
        using var http = Server.CreateHttpClient();
        var separator = query.Length == 0 ? "?" : "&";
        using var request = new HttpRequestMessage(post ? HttpMethod.Post : HttpMethod.Get,
            "/connect/userinfo" + query + (post || extra is null ? "" : separator + extra + "=1"));
        if (post)
        {
            request.Content = new FormUrlEncodedContent(extra is null ? [] : [new KeyValuePair<string, string>(extra, "1")]);
        }

        shape(request);
        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var json = body.Length == 0 ? default
            : response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(body).RootElement.Clone()
            : JsonSerializer.SerializeToElement(body);
        return (response, json);
    }

    /// <summary>
    /// A GET of userinfo written by hand on a socket, so that the Authorization header can be sent twice (HttpClient folds
    /// repeated values into one header line); the status and the WWW-Authenticate header lines of the answer.
    /// </summary>
    private async Task<(int Status, string WwwAuthenticate)> RawUserInfoGetAsync(string query, params string[] headerLines)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        var request = $"GET /connect/userinfo{query} HTTP/1.1\r\nHost: {Server.BaseAddress.Authority}\r\n"
                      + string.Concat(headerLines.Select(h => h + "\r\n")) + "Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, text);
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var challenge = string.Join(" | ", lines.Skip(1).Where(l => l.StartsWith("WWW-Authenticate:", StringComparison.OrdinalIgnoreCase))
            .Select(l => l["WWW-Authenticate:".Length..].Trim()));
        return (status, challenge);
    }

    /// <summary>
    /// <paramref name="token"/>'s payload, changed by <paramref name="change"/>, signed again with <paramref name="credentials"/>
    /// under the header type <paramref name="type"/> (JsonWebTokenHandler writes alg and kid from the credentials).
    /// </summary>
    private static string Resign(string token, SigningCredentials credentials, Action<JsonObject>? change = null, string type = "at+jwt")
    {
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))!.AsObject();
        change?.Invoke(payload);
        // No default iat, nbf or exp added: the payload is the one given.
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var resigned = handler.CreateToken(payload.ToJsonString(), credentials, new Dictionary<string, object> { ["typ"] = type });
        Assert.Equal(type, OidcKit.JwtHeader(resigned).GetProperty("typ").GetString());
        return resigned;
    }

    /// <summary>
    /// What the fast path must leave to the normal path, token by token: the payload of a real user access token signed again
    /// with the server's own current signing key (taken from the server's OpenIddictServerOptions), first unchanged (the
    /// control: the fast path answers it, so the re-signing alone does not send a token to the normal path), then with one
    /// thing changed each: expired (401 on both paths), a nbf, a cnf (a sender-constrained token), an azp, two presenters, a
    /// token entry id (oi_tkn_id), another issuer, the header type JWT instead of at+jwt (RFC 9068 section 2.1); signed with a
    /// foreign RSA key under the server's kid; HS256 with the server's own symmetric key (codes and refresh tokens) and with
    /// a random one; and the ID token of the same sign-in presented as a bearer token. For each, GET and POST: the fast
    /// path's meter does not move and the answer (status, headers, body, WWW-Authenticate) is the normal path's (the same
    /// request with an ignored parameter, which only the normal path takes).
    /// </summary>
    [Fact]
    public async Task UserInfo_FastPath_ResignedTokens_OnlyThePlainOneAnswered_OthersAsTheNormalPath()
    {
        if (Environment.GetEnvironmentVariable("Oidc__UserinfoFastPath") is "false")
        {
            // The whole class runs against the normal path then: nothing to compare with.
            return;
        }

        var client = await Kit.RegisterWebClientAsync();
        var other = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter("identityhub.userinfo.fast_path", client.ClientId, other.ClientId);
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var token = flow.Tokens.AccessToken!;

        var options = Server.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue;
        var signing = options.SigningCredentials.First(c => c.Key is AsymmetricSecurityKey);
        Assert.Equal(OidcKit.JwtHeader(token).GetProperty("kid").GetString(), signing.Kid);
        var payload = OidcKit.JwtPayload(token);
        foreach (var claim in new[] { "nbf", "cnf", "azp", "oi_tkn_id" })
        {
            Assert.False(payload.TryGetProperty(claim, out _), $"a real access token carries {claim}: {payload}");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        async Task AnsweredAsync(string name, string presented)
        {
            foreach (var post in new[] { false, true })
            {
                var before = meter.Count;
                var answered = await UserInfoRequestAsync(presented, post);
                Assert.True(answered.Response.StatusCode == HttpStatusCode.OK, $"{name}: {answered.Response.StatusCode} {answered.Json}");
                Assert.True(meter.Count == before + 1, $"{name} ({(post ? "POST" : "GET")}): not answered by the fast path");
                var normal = await UserInfoRequestAsync(presented, post, "x_ignored");
                Assert.Equal(before + 1, meter.Count);
                AssertSameUserInfo(normal, answered);
            }
        }

        async Task NotAnsweredAsync(string name, string presented, HttpStatusCode? status = null)
        {
            foreach (var post in new[] { false, true })
            {
                var before = meter.Count;
                var answered = await UserInfoRequestAsync(presented, post);
                var normal = await UserInfoRequestAsync(presented, post, "x_ignored");
                Assert.True(meter.Count == before, $"{name} ({(post ? "POST" : "GET")}): answered by the fast path ({answered.Response.StatusCode})");
                Assert.True(answered.Response.StatusCode == normal.Response.StatusCode,
                    $"{name} ({(post ? "POST" : "GET")}): {answered.Response.StatusCode} {answered.Json}, the normal path {normal.Response.StatusCode} {normal.Json}");
                Assert.Equal(normal.Response.Headers.WwwAuthenticate.ToString(), answered.Response.Headers.WwwAuthenticate.ToString());
                if ((int)answered.Response.StatusCode < 500)
                {
                    // A server error's page links back to the request's own URL (the ignored parameter included).
                    AssertSameUserInfo(normal, answered);
                }

                if (status is not null)
                {
                    Assert.True(answered.Response.StatusCode == status, $"{name}: {answered.Response.StatusCode} {answered.Json}");
                }

                if (answered.Response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    Assert.Contains("invalid_token", answered.Response.Headers.WwwAuthenticate.ToString());
                }
            }
        }

        // The control: the real token, and its payload re-signed unchanged, are the fast path's.
        await AnsweredAsync("the real token", token);
        await AnsweredAsync("re-signed unchanged", Resign(token, signing));

        await NotAnsweredAsync("expired", Resign(token, signing, p =>
        {
            p["iat"] = now - 600;
            p["exp"] = now - 60;
        }), HttpStatusCode.Unauthorized);
        await NotAnsweredAsync("nbf", Resign(token, signing, p => p["nbf"] = p["iat"]!.GetValue<long>()));
        // (The normal path answers a nbf, an azp or two presenters with 200; a cnf with a 500, OpenIddict's "token binding
        // method ... not supported": the server never issues one, so only its own key could make such a token.)
        await NotAnsweredAsync("cnf", Resign(token, signing, p => p["cnf"] = new JsonObject
        {
            ["jkt"] = Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes("a proof-of-possession key"))),
        }));
        await NotAnsweredAsync("azp", Resign(token, signing, p => p["azp"] = client.ClientId));
        await NotAnsweredAsync("two presenters", Resign(token, signing, p => p["oi_prst"] = new JsonArray(client.ClientId, other.ClientId)));
        await NotAnsweredAsync("a token entry", Resign(token, signing, p => p["oi_tkn_id"] = Guid.NewGuid().ToString()));
        await NotAnsweredAsync("another issuer", Resign(token, signing, p => p["iss"] = "https://issuer.invalid/"), HttpStatusCode.Unauthorized);
        await NotAnsweredAsync("typ JWT", Resign(token, signing, type: "JWT"));

        using var foreignRsa = RSA.Create(2048);
        var foreign = new SigningCredentials(new RsaSecurityKey(foreignRsa) { KeyId = signing.Kid }, SecurityAlgorithms.RsaSha256);
        await NotAnsweredAsync("a foreign RSA key", Resign(token, foreign), HttpStatusCode.Unauthorized);

        // HS256 with the server's own symmetric signing key (OpenIddict holds it among its signing keys, for codes and
        // refresh tokens only: ProtectServerOnlyTokens.AcceptsSigningKey refuses it for an access token on the normal path;
        // the fast path takes asymmetric keys only), and with a random key.
        var serverOnly = Server.Services.GetRequiredService<ServerOnlyTokenKeys>().Signing;
        Assert.IsType<SymmetricSecurityKey>(serverOnly.Key);
        await NotAnsweredAsync("HS256, the server's symmetric key", Resign(token, serverOnly), HttpStatusCode.Unauthorized);
        var random = new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "random" },
            SecurityAlgorithms.HmacSha256);
        await NotAnsweredAsync("HS256, a random key", Resign(token, random), HttpStatusCode.Unauthorized);

        await NotAnsweredAsync("the ID token", flow.Tokens.IdentityToken!, HttpStatusCode.Unauthorized);

        // The real token is still answered by the fast path after all this.
        await AnsweredAsync("the real token, again", token);
    }

    /// <summary>
    /// What the fast path must leave to the normal path, request by request, with a valid token: a DPoP header (GET and
    /// POST), two Authorization headers (as two header lines and as one line of two credentials), the token in the query
    /// (RFC 6750 section 2.3) alone or next to the header; each answered as the normal path answers it (the same request
    /// with an ignored parameter), the meter unchanged. The scheme in lower case ("bearer", RFC 7235 section 2.1: case-
    /// insensitive, as OpenIddict reads it) is answered by the fast path as the normal path answers it. A fast-path 200
    /// carries Cache-Control: no-store and Pragma: no-cache.
    /// </summary>
    [Fact]
    public async Task UserInfo_FastPath_UnusualRequests_AnsweredAsTheNormalPath_NoCacheHeaders()
    {
        if (Environment.GetEnvironmentVariable("Oidc__UserinfoFastPath") is "false")
        {
            return;
        }

        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter("identityhub.userinfo.fast_path", client.ClientId);
        var user = await Kit.CreateUserAsync();
        var token = (await Kit.CodeFlowAsync(NewBrowser(), client, user)).Tokens.AccessToken!;

        // The plain request: the fast path's, with the no-cache headers of personal data.
        var before = meter.Count;
        var plain = await UserInfoRequestAsync(token, post: false);
        Assert.True(plain.Response.StatusCode == HttpStatusCode.OK, $"{plain.Response.StatusCode} {plain.Json}");
        Assert.Equal(before + 1, meter.Count);
        Assert.Equal("no-store", plain.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no-cache", plain.Response.Headers.Pragma.ToString());

        async Task SameAsNormalAsync(string name, string query, bool post, Action<HttpRequestMessage> shape, bool byFastPath = false)
        {
            var counted = meter.Count;
            var answered = await UserInfoVariantAsync(query, post, shape);
            Assert.True(meter.Count == counted + (byFastPath ? 1 : 0),
                $"{name}: {(byFastPath ? "not " : "")}answered by the fast path ({answered.Response.StatusCode} {answered.Json})");
            var normal = await UserInfoVariantAsync(query, post, shape, "x_ignored");
            Assert.Equal(counted + (byFastPath ? 1 : 0), meter.Count);
            Assert.True(answered.Response.StatusCode == normal.Response.StatusCode,
                $"{name}: {answered.Response.StatusCode} {answered.Json}, the normal path {normal.Response.StatusCode} {normal.Json}");
            AssertSameUserInfo(normal, answered);
        }

        void Bearer(HttpRequestMessage request) => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // A DPoP proof (RFC 9449 section 7.1 would make it a DPoP-bound request): whatever the normal path makes of it.
        const string proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.eyJodG0iOiJHRVQifQ.c2lnbmF0dXJl";
        await SameAsNormalAsync("DPoP, GET", "", post: false, r =>
        {
            Bearer(r);
            r.Headers.TryAddWithoutValidation("DPoP", proof);
        });
        await SameAsNormalAsync("DPoP, POST", "", post: true, r =>
        {
            Bearer(r);
            r.Headers.TryAddWithoutValidation("DPoP", proof);
        });

        // Two credentials folded into one Authorization line.
        await SameAsNormalAsync("two credentials in one header", "", post: false,
            r => r.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + token, "Bearer " + token]));

        // Lower-case scheme: the fast path's, answered as the normal path answers it.
        await SameAsNormalAsync("lower-case bearer", "", post: false,
            r => r.Headers.TryAddWithoutValidation("Authorization", "bearer " + token), byFastPath: true);

        // The token in the query (RFC 6750 section 2.3), alone and next to the header.
        await SameAsNormalAsync("access_token in the query", "?access_token=" + Uri.EscapeDataString(token), post: false, _ => { });
        await SameAsNormalAsync("access_token in the query and the header", "?access_token=" + Uri.EscapeDataString(token), post: false, Bearer);
        await SameAsNormalAsync("another access_token in the query", "?access_token=not-a-token", post: false, Bearer);

        // Two Authorization header lines (the same token twice; a valid token and another): the server sees two values.
        foreach (var (name, second) in new[] { ("the same token twice", token), ("a token and garbage", "not-a-token") })
        {
            var counted = meter.Count;
            var answered = await RawUserInfoGetAsync("", "Authorization: Bearer " + token, "Authorization: Bearer " + second);
            Assert.True(meter.Count == counted, $"two Authorization headers, {name}: answered by the fast path ({answered.Status})");
            var normal = await RawUserInfoGetAsync("?x_ignored=1", "Authorization: Bearer " + token, "Authorization: Bearer " + second);
            Assert.Equal(counted, meter.Count);
            Assert.Equal(normal, answered);
            // The control: one header line on the same socket path is the fast path's.
            var single = await RawUserInfoGetAsync("", "Authorization: Bearer " + token);
            Assert.Equal((200, ""), single);
            Assert.Equal(counted + 1, meter.Count);
        }
    }

    /// <summary>
    /// A user's access token issued, then its client disabled and enabled again through the administrators' API: the token
    /// stays refused (401 invalid_token, RFC 6750 section 3.1), by the normal path on both the plain request and the one
    /// with an ignored parameter, the fast path's meter unchanged. Once the client is enabled again the client itself is
    /// active, so only the revocation of its earlier tokens (RevokedAccessTokens) refuses the token; a token issued after
    /// the enabling is the fast path's again.
    /// </summary>
    [Fact]
    public async Task UserInfo_FastPath_ClientDisabledAndEnabled_OldTokenRefusedByTheNormalPath()
    {
        if (Environment.GetEnvironmentVariable("Oidc__UserinfoFastPath") is "false")
        {
            return;
        }

        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter("identityhub.userinfo.fast_path", client.ClientId);
        var user = await Kit.CreateUserAsync();
        var token = (await Kit.CodeFlowAsync(NewBrowser(), client, user)).Tokens.AccessToken!;

        async Task ExpectAsync(string name, string presented, HttpStatusCode status, bool byFastPath)
        {
            foreach (var post in new[] { false, true })
            {
                var counted = meter.Count;
                var answered = await UserInfoRequestAsync(presented, post);
                Assert.True(answered.Response.StatusCode == status, $"{name} ({(post ? "POST" : "GET")}): {answered.Response.StatusCode} {answered.Json}");
                Assert.True(meter.Count == counted + (byFastPath ? 1 : 0), $"{name} ({(post ? "POST" : "GET")}): fast path count {meter.Count - counted}");
                var normal = await UserInfoRequestAsync(presented, post, "x_ignored");
                Assert.Equal(counted + (byFastPath ? 1 : 0), meter.Count);
                AssertSameUserInfo(normal, answered);
                if (status == HttpStatusCode.Unauthorized)
                {
                    Assert.Contains("invalid_token", answered.Response.Headers.WwwAuthenticate.ToString());
                }
            }
        }

        await ExpectAsync("before", token, HttpStatusCode.OK, byFastPath: true);

        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
        using (var response = await admin.PostAsync($"/api/admin/clients/{client.ClientId}/disable", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The revocation was written before the answer: at the latest now.
        var disabledBy = DateTimeOffset.UtcNow;

        await ExpectAsync("disabled", token, HttpStatusCode.Unauthorized, byFastPath: false);

        using (var response = await admin.PostAsync($"/api/admin/clients/{client.ClientId}/enable", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await ExpectAsync("enabled again, the old token", token, HttpStatusCode.Unauthorized, byFastPath: false);

        // A token issued after the enabling, past what the revocation covers (the second of the disabling plus
        // RevokedAccessTokens.CutoffMargin: iat is in whole seconds).
        await Task.Delay(disabledBy + RevokedAccessTokens.CutoffMargin + TimeSpan.FromSeconds(1.1) - DateTimeOffset.UtcNow is { Ticks: > 0 } wait
            ? wait : TimeSpan.Zero);
        var fresh = (await Kit.CodeFlowAsync(NewBrowser(), client, user)).Tokens.AccessToken!;
        await ExpectAsync("enabled again, a new token", fresh, HttpStatusCode.OK, byFastPath: true);
        await ExpectAsync("enabled again, the old token, still", token, HttpStatusCode.Unauthorized, byFastPath: false);
    }
}
