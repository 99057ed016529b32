using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The userinfo fast path's edges (the summary of OidcProtocolTests.UserInfo.cs says what is compared): tokens signed with
/// the server's own key but unusual, tokens signed otherwise, unusual requests, and a token of a client disabled and
/// enabled since; each case fails if the fast path's check for it is deleted.
/// </summary>
public abstract partial class OidcProtocolTests
{
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
        // (The normal path answers a nbf, an azp or two presenters with 200. A cnf is 401 invalid_token on both paths: the
        // server issues no sender-constrained token (RejectSenderConstrainedTokens; before it, OpenIddict threw, a 500).)
        var boundToKey = Resign(token, signing, p => p["cnf"] = new JsonObject
        {
            ["jkt"] = Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes("a proof-of-possession key"))),
        });
        await NotAnsweredAsync("cnf", boundToKey, HttpStatusCode.Unauthorized);
        // Introspected by its own client: inactive (RFC 7662 section 2.2), where the re-signed unchanged payload is active.
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, Resign(token, signing), "access_token")).IsActive);
        var introspected = await Kit.IntrospectAsync(client.ClientId, client.Secret, boundToKey, "access_token");
        Assert.False(introspected.IsError, introspected.Raw);
        Assert.False(introspected.IsActive, introspected.Raw);
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
