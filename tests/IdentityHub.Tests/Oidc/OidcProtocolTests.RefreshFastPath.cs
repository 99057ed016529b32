using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The refresh grant's fast path (Oidc/Handlers/RefreshTokenFastPath, Oidc:RefreshTokenFastPath, on by default; the normal path is taken by
/// the same request with anything unusual) against the
/// normal pipeline on one server. A plain refresh request (grant_type, refresh_token, the client's credentials by
/// client_secret_basic or client_secret_post) is answered by the fast path; the same request with an unknown parameter
/// (which OpenIddict ignores) goes to the normal path. Both answers carry the same members, headers and token claims, and
/// write the same token.refreshed and claims.released events; the tokens of either path are redeemed by the other. What the
/// fast path declines (a narrowing scope, a resource, a DPoP proof, a query string, two authentication methods, a wrong or
/// missing secret, another client's token, a tampered token) and every refusal (a suspended client, a locked account, an
/// ended session, a reused token) get the normal path's answer and are not counted by identityhub.refresh.fast_path. Each
/// of the fast path's safety checks, deleted, makes one of these cases fail (the mutation check in docs/benchmarks.md,
/// eighth session). The new refresh tokens are compared inside too (decrypted with the server's keys) with their entries.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private const string RefreshFastPathMeter = "identityhub.refresh.fast_path";

    public enum RefreshAuth { Basic, Post, PublicClient, ClientIdOnly }

    private static bool RefreshFastPathOff => Environment.GetEnvironmentVariable("Oidc__RefreshTokenFastPath") is "false";

    /// <summary>A refresh request over raw HTTP, shaped as the caller says; the answer's JSON (or its text for a non-JSON body).</summary>
    private Task<(HttpResponseMessage Response, JsonElement Json)> RefreshRequestAsync(WebClient client, string refreshToken,
        RefreshAuth auth = RefreshAuth.Basic, IEnumerable<KeyValuePair<string, string>>? extra = null, string query = "",
        Action<HttpRequestMessage>? shape = null) =>
        TokenRequestAsync(client, [new("grant_type", "refresh_token"), new("refresh_token", refreshToken)], auth, extra, query, shape);

    /// <summary>
    /// A token request over raw HTTP: the grant's parameters, the client's credentials as <paramref name="auth"/> says, the
    /// extra parameters; <paramref name="shapeForm"/> and <paramref name="shape"/> change the form and the request last.
    /// The answer's JSON (or its text for a non-JSON body).
    /// </summary>
    private async Task<(HttpResponseMessage Response, JsonElement Json)> TokenRequestAsync(WebClient client, List<KeyValuePair<string, string>> form,
        RefreshAuth auth, IEnumerable<KeyValuePair<string, string>>? extra, string query = "", Action<HttpRequestMessage>? shape = null,
        Action<List<KeyValuePair<string, string>>>? shapeForm = null)
    {
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token" + query);
        switch (auth)
        {
            case RefreshAuth.Basic:
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(
                    Encoding.ASCII.GetBytes(Uri.EscapeDataString(client.ClientId) + ":" + Uri.EscapeDataString(client.Secret!))));
                break;
            case RefreshAuth.Post:
                form.Add(new("client_id", client.ClientId));
                form.Add(new("client_secret", client.Secret!));
                break;
            case RefreshAuth.PublicClient:
            case RefreshAuth.ClientIdOnly:
                form.Add(new("client_id", client.ClientId));
                break;
        }

        form.AddRange(extra ?? []);
        shapeForm?.Invoke(form);
        request.Content = new FormUrlEncodedContent(form);
        shape?.Invoke(request);
        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType == "application/json" && body.Length > 0
            ? JsonDocument.Parse(body).RootElement.Clone()
            : JsonSerializer.SerializeToElement(body);
        return (response, json);
    }

    private static readonly KeyValuePair<string, string>[] Ignored = [new("x_ignored", "1")];

    /// <summary>The token.refreshed (or <paramref name="issued"/>) and claims.released events of a client, oldest first, without what differs per request.</summary>
    private async Task<List<string>> RefreshEventsAsync(string clientId, string issued = "token.refreshed")
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var events = await db.AuditEvents.AsNoTracking()
            .Where(e => e.ClientId == clientId && (e.EventType == issued || e.EventType == "claims.released"))
            .OrderBy(e => e.Id).ToListAsync();
        return [.. events.Select(e =>
        {
            // The ids of the tokens differ per request; everything else must not.
            var data = e.Data is null ? null : JsonNode.Parse(e.Data) as JsonObject;
            data?.Remove("tokenIds");
            return string.Join("|", e.EventType, e.Category, e.Outcome, e.ActorKind, e.ActorId, e.SubjectId, e.ClientId, e.TargetType,
                e.DepartmentCode, e.SessionId, data?.ToJsonString());
        })];
    }

    /// <summary>
    /// Two successful refresh answers compared: status, headers (Cache-Control: no-store, Pragma: no-cache, RFC 6749 section
    /// 5.1), the members in order and their values (expires_in within a second; tokens by their claims: the same names,
    /// the same values but for what is per token: jti, iat, exp, at_hash, and the authorization id of another grant).
    /// </summary>
    private static void AssertSameRefreshAnswer((HttpResponseMessage Response, JsonElement Json) expected, (HttpResponseMessage Response, JsonElement Json) actual)
    {
        Assert.Equal(HttpStatusCode.OK, expected.Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, actual.Response.StatusCode);
        Assert.Equal(expected.Response.Content.Headers.ContentType?.ToString(), actual.Response.Content.Headers.ContentType?.ToString());
        Assert.Equal("no-store", actual.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no-cache", actual.Response.Headers.Pragma.ToString());
        Assert.Equal(expected.Response.Headers.CacheControl?.ToString(), actual.Response.Headers.CacheControl?.ToString());
        Assert.Equal(expected.Response.Headers.Pragma.ToString(), actual.Response.Headers.Pragma.ToString());
        Assert.Equal(expected.Json.EnumerateObject().Select(p => p.Name), actual.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Bearer", actual.Json.GetProperty("token_type").GetString());
        Assert.Equal(expected.Json.GetProperty("scope").GetString(), actual.Json.GetProperty("scope").GetString());
        Assert.InRange(actual.Json.GetProperty("expires_in").GetInt64() - expected.Json.GetProperty("expires_in").GetInt64(), -1, 1);
        foreach (var token in new[] { "access_token", "id_token" })
        {
            if (!expected.Json.TryGetProperty(token, out var e))
            {
                Assert.False(actual.Json.TryGetProperty(token, out _));
                continue;
            }

            AssertSameClaims(token, OidcKit.JwtHeader(e.GetString()!), OidcKit.JwtHeader(actual.Json.GetProperty(token).GetString()!), "kid");
            // The nonce is the grant's own (OpenIddict carries the authorization request's nonce into the ID tokens of its
            // refreshes, on both paths): compared with the grant's first ID token by the callers.
            AssertSameClaims(token, OidcKit.JwtPayload(e.GetString()!), OidcKit.JwtPayload(actual.Json.GetProperty(token).GetString()!),
                "jti", "iat", "exp", "at_hash", "oi_au_id", "nonce");
        }

        // The refresh token is opaque to the client (RFC 6749 section 1.5): a JWE of the same protection on both paths.
        Assert.Equal(JweHeader(expected.Json.GetProperty("refresh_token").GetString()!).GetRawText(),
            JweHeader(actual.Json.GetProperty("refresh_token").GetString()!).GetRawText());
    }

    /// <summary>
    /// Two new refresh tokens compared inside (they are opaque to the client, so only the server's own keys open them,
    /// ServerOnlyTokenKeys): both decrypt and verify under the current keys, their inner JWS headers are equal (HS256, the
    /// kid, oi_reft+jwt), their claims are the same names with the same values but for what is per token or per grant
    /// (iat, exp, the entry id, and the grant's authorization id, nonce and PKCE challenge), and the entries they name are alike: valid
    /// refresh-token entries of the same client and subject, of the token's own authorization, created at the token's iat
    /// and expiring at its exp, no reference id and no payload.
    /// </summary>
    private async Task AssertSameRefreshTokenContentAsync(string clientId, string expected, string actual)
    {
        var e = await OpenRefreshTokenAsync(expected);
        var a = await OpenRefreshTokenAsync(actual);
        Assert.Equal(e.Header.GetRawText(), a.Header.GetRawText());
        AssertSameClaims("refresh_token", e.Payload, a.Payload, "iat", "exp", "oi_tkn_id", "oi_au_id", "oi_nce", "oi_cd_chlg");
        Assert.Equal(e.Payload.GetProperty("exp").GetInt64() - e.Payload.GetProperty("iat").GetInt64(),
            a.Payload.GetProperty("exp").GetInt64() - a.Payload.GetProperty("iat").GetInt64());

        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        foreach (var payload in new[] { e.Payload, a.Payload })
        {
            var id = payload.GetProperty("oi_tkn_id").GetString()!;
            var entry = await db.Set<HubToken>().AsNoTracking().Where(t => t.Id == id)
                .Select(t => new
                {
                    t.Type, t.Status, t.Subject, t.ReferenceId, t.Payload, t.CreationDate, t.ExpirationDate, t.RedemptionDate,
                    Application = t.Application!.ClientId, Authorization = t.Authorization!.Id,
                })
                .SingleAsync();
            Assert.Equal("urn:ietf:params:oauth:token-type:refresh_token", entry.Type);
            Assert.Equal("valid", entry.Status);
            Assert.Equal(payload.GetProperty("sub").GetString(), entry.Subject);
            Assert.Equal(clientId, entry.Application);
            Assert.Equal(payload.GetProperty("oi_au_id").GetString(), entry.Authorization);
            Assert.Null(entry.ReferenceId);
            Assert.Null(entry.Payload);
            Assert.Null(entry.RedemptionDate);
            Assert.Equal(payload.GetProperty("iat").GetInt64(), new DateTimeOffset(entry.CreationDate!.Value, TimeSpan.Zero).ToUnixTimeSeconds());
            Assert.Equal(payload.GetProperty("exp").GetInt64(), new DateTimeOffset(entry.ExpirationDate!.Value, TimeSpan.Zero).ToUnixTimeSeconds());
        }
    }

    /// <summary>A refresh token decrypted and verified with the server's own keys: its inner JWS header and payload.</summary>
    private async Task<(JsonElement Header, JsonElement Payload)> OpenRefreshTokenAsync(string token)
    {
        var keys = Server.Services.GetRequiredService<IdentityHub.Server.Oidc.ServerOnlyTokenKeys>();
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            TokenDecryptionKeys = keys.EncryptionKeys,
            IssuerSigningKeys = keys.SigningKeys,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidTypes = ["oi_reft+jwt"],
        });
        Assert.True(result.IsValid, result.Exception?.ToString());
        var inner = ((Microsoft.IdentityModel.JsonWebTokens.JsonWebToken)result.SecurityToken).InnerToken.EncodedToken;
        return (OidcKit.JwtHeader(inner), OidcKit.JwtPayload(inner));
    }

    private static void AssertSameClaims(string token, JsonElement expected, JsonElement actual, params string[] perToken)
    {
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(), actual.EnumerateObject().Select(p => p.Name).Order());
        foreach (var claim in expected.EnumerateObject().Where(p => !perToken.Contains(p.Name)))
        {
            Assert.True(claim.Value.GetRawText() == actual.GetProperty(claim.Name).GetRawText(),
                $"{token} {claim.Name}: {claim.Value.GetRawText()} vs {actual.GetProperty(claim.Name).GetRawText()}");
        }
    }

    /// <summary>
    /// A fast path's successful grant answer against the normal path's (<see cref="AssertSameRefreshAnswer"/>, the refresh
    /// tokens inside, at_hash on both), its access and ID tokens valid under the JWKS.
    /// </summary>
    private async Task AssertSameGrantAnswerAsync(string clientId, (HttpResponseMessage Response, JsonElement Json) normal,
        (HttpResponseMessage Response, JsonElement Json) fast)
    {
        AssertSameRefreshAnswer(normal, fast);
        await AssertSameRefreshTokenContentAsync(clientId, normal.Json.GetProperty("refresh_token").GetString()!,
            fast.Json.GetProperty("refresh_token").GetString()!);
        AssertAccessTokenHash(fast.Json);
        AssertAccessTokenHash(normal.Json);
        Assert.True((await Kit.ValidateJwtAsync(fast.Json.GetProperty("access_token").GetString()!, "identityhub", "at+jwt", "RS256")).IsValid);
        Assert.True((await Kit.ValidateJwtAsync(fast.Json.GetProperty("id_token").GetString()!, clientId, "JWT", "RS256")).IsValid);
    }

    private static void AssertAccessTokenHash(JsonElement answer)
    {
        // OIDC Core section 3.1.3.6 / 12.2: at_hash is the left half of SHA-256 (RS256) of the access token's ASCII octets.
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes(answer.GetProperty("access_token").GetString()!));
        Assert.Equal(Base64UrlEncoder.Encode(digest, 0, 16),
            OidcKit.JwtPayload(answer.GetProperty("id_token").GetString()!).GetProperty("at_hash").GetString());
    }

    [Fact]
    public async Task RefreshTokenFastPath_AnswersAsTheNormalPath_TokensInterchangeable()
    {
        if (RefreshFastPathOff)
        {
            // The whole class runs against the normal path then: nothing to compare with.
            return;
        }

        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        // Two grants of one session (same claims, sid, auth_time, acr, amr): one refreshed by each path.
        var fastFlow = await Kit.CodeFlowAsync(browser, client, user);
        var normalFlow = await Kit.CodeFlowAsync(browser, client, user);

        var fastToken = fastFlow.Tokens.RefreshToken!;
        var normalToken = normalFlow.Tokens.RefreshToken!;
        var answered = 0;
        foreach (var auth in new[] { RefreshAuth.Basic, RefreshAuth.Post })
        {
            var events = (await RefreshEventsAsync(client.ClientId)).Count;
            var fast = await RefreshRequestAsync(client, fastToken, auth);
            Assert.True(fast.Response.StatusCode == HttpStatusCode.OK, fast.Json.ToString());
            Assert.Equal(++answered, meter.Count);
            var normal = await RefreshRequestAsync(client, normalToken, auth, Ignored);
            Assert.True(normal.Response.StatusCode == HttpStatusCode.OK, normal.Json.ToString());
            Assert.Equal(answered, meter.Count);

            await AssertSameGrantAnswerAsync(client.ClientId, normal, fast);
            var id = fast.Json.GetProperty("id_token").GetString()!;

            // OIDC Core section 12.2: the refreshed ID token keeps iss, sub, aud, auth_time, acr and amr of the original.
            var original = OidcKit.JwtPayload(fastFlow.Tokens.IdentityToken!);
            var refreshed = OidcKit.JwtPayload(id);
            foreach (var claim in new[] { "iss", "sub", "aud", "auth_time", "acr", "amr", "sid" })
            {
                Assert.Equal(original.GetProperty(claim).GetRawText(), refreshed.GetProperty(claim).GetRawText());
            }

            // What either path does with the nonce, it does alike: each refreshed ID token has its own grant's, or none.
            var normalOriginal = OidcKit.JwtPayload(normalFlow.Tokens.IdentityToken!);
            var normalRefreshed = OidcKit.JwtPayload(normal.Json.GetProperty("id_token").GetString()!);
            Assert.Equal(normalRefreshed.TryGetProperty("nonce", out var normalNonce), refreshed.TryGetProperty("nonce", out var fastNonce));
            if (fastNonce.ValueKind != JsonValueKind.Undefined)
            {
                Assert.Equal(original.GetProperty("nonce").GetString(), fastNonce.GetString());
                Assert.Equal(normalOriginal.GetProperty("nonce").GetString(), normalNonce.GetString());
            }

            // The same events from both paths: token.refreshed and claims.released, once each per answer.
            var after = await RefreshEventsAsync(client.ClientId);
            Assert.Equal(events + 4, after.Count);
            Assert.Equal(after[^4], after[^2]);
            Assert.Equal(after[^3], after[^1]);
            Assert.StartsWith("token.refreshed|", after[^2]);
            Assert.StartsWith("claims.released|", after[^1]);

            // Each path's refresh token is redeemed by the other one in the next round (rotation across paths).
            (fastToken, normalToken) = (normal.Json.GetProperty("refresh_token").GetString()!, fast.Json.GetProperty("refresh_token").GetString()!);
            (fastFlow, normalFlow) = (normalFlow, fastFlow);
        }

        // The presented tokens were rotated: the last ones are valid, introspected as active refresh tokens.
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, fastToken, "refresh_token")).IsActive);
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, normalToken, "refresh_token")).IsActive);
    }

    [Fact]
    public async Task RefreshTokenFastPath_ReusedToken_RefusedAndTheWholeGrantRevoked()
    {
        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var rotated = await RefreshRequestAsync(client, flow.Tokens.RefreshToken!);
        Assert.True(rotated.Response.StatusCode == HttpStatusCode.OK, rotated.Json.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);
        var rotatedRefresh = rotated.Json.GetProperty("refresh_token").GetString()!;
        var rotatedAccess = rotated.Json.GetProperty("access_token").GetString()!;

        // RFC 9700 section 4.14.2: the redeemed token presented again, as a plain request: refused, and the grant revoked.
        var reuse = await RefreshRequestAsync(client, flow.Tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, reuse.Response.StatusCode);
        Assert.Equal("invalid_grant", reuse.Json.GetProperty("error").GetString());
        Assert.Equal("no-store", reuse.Response.Headers.CacheControl?.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotatedRefresh, "refresh_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotatedAccess, "access_token")).IsActive);
        var legitimate = await RefreshRequestAsync(client, rotatedRefresh);
        Assert.Equal("invalid_grant", legitimate.Json.GetProperty("error").GetString());

        // The same refusal as the normal path's (another grant, reused through the normal path).
        var other = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        Assert.Equal(HttpStatusCode.OK, (await RefreshRequestAsync(client, other.Tokens.RefreshToken!, extra: Ignored)).Response.StatusCode);
        var normalReuse = await RefreshRequestAsync(client, other.Tokens.RefreshToken!, extra: Ignored);
        AssertSameAnswer(normalReuse, reuse);
    }

    [Fact]
    public async Task RefreshTokenFastPath_Refusals_SuspendedClientLockedAccountEndedSession_AnsweredByTheNormalPath()
    {
        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());

        // Each refusal happens before the redemption, so the same token is refused twice: plain and through the normal path.
        async Task RefusedAsync(string name, string token, string error)
        {
            var counted = meter.Count;
            var plain = await RefreshRequestAsync(client, token);
            Assert.True(plain.Json.ValueKind == JsonValueKind.Object && plain.Json.GetProperty("error").GetString() == error,
                $"{name}: {plain.Response.StatusCode} {plain.Json}");
            var normal = await RefreshRequestAsync(client, token, extra: Ignored);
            AssertSameAnswer(normal, plain);
            Assert.Equal(counted, meter.Count);
        }

        // An ended session (every session of the user ended by the administrators).
        var ended = await Kit.CreateUserAsync();
        var endedFlow = await Kit.CodeFlowAsync(NewBrowser(), client, ended);
        using (var response = await admin.DeleteAsync($"/api/admin/users/{ended.Id}/sessions"))
        {
            Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        }

        await RefusedAsync("ended session", endedFlow.Tokens.RefreshToken!, "invalid_grant");

        // A session marked ended in the database alone, its grant not revoked (a refresh racing the logout that ends it):
        // only the token endpoint's own session check (GrantSubjects' SessionEnded) refuses it, on both paths.
        var racing = await Kit.CreateUserAsync();
        var racingFlow = await Kit.CodeFlowAsync(NewBrowser(), client, racing);
        var sid = OidcKit.JwtPayload(racingFlow.Tokens.IdentityToken!).GetProperty("sid").GetString()!;
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(1, await db.Set<IdentityHub.Server.Sessions.SsoSession>().Where(s => s.Id == sid)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAtUtc, DateTime.UtcNow)));
        }

        await RefusedAsync("session ended, grant not revoked", racingFlow.Tokens.RefreshToken!, "invalid_grant");

        // A locked account (Accounts:MaxFailedAccessAttempts wrong passwords).
        var locked = await Kit.CreateUserAsync();
        var lockedFlow = await Kit.CodeFlowAsync(NewBrowser(), client, locked);
        for (var i = 0; i < 5; i++)
        {
            Assert.False((await new LoginForm(Server).SignInAsync(locked.UserName, "Wrong-Horse-" + i)).SessionCookieIssued);
        }

        await RefusedAsync("locked account", lockedFlow.Tokens.RefreshToken!, "invalid_grant");

        // A suspended (disabled) client: its grants stop at once.
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var before = await RefreshRequestAsync(client, flow.Tokens.RefreshToken!);
        Assert.True(before.Response.StatusCode == HttpStatusCode.OK, before.Json.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);
        using (var response = await admin.PostAsync($"/api/admin/clients/{client.ClientId}/disable", null))
        {
            Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        }

        await RefusedAsync("disabled client", before.Json.GetProperty("refresh_token").GetString()!, "unauthorized_client");
    }

    [Fact]
    public async Task RefreshTokenFastPath_AccountChecks_MadeByTheRedemptionInTheDatabase_NothingWrittenWhenRefused()
    {
        // The fast path takes the claims from the claims person cache and checks the account and the session in the
        // redemption's own statement. A change made in the database alone (no SaveChanges: the cache is not told) must
        // still refuse the refresh, and the refused request must write nothing: the same token works once the account is
        // unlocked, without being taken for reuse.
        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var first = await RefreshRequestAsync(client, flow.Tokens.RefreshToken!);
        Assert.True(first.Response.StatusCode == HttpStatusCode.OK, first.Json.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);
        var token = first.Json.GetProperty("refresh_token").GetString()!;

        async Task SetLockoutEndAsync(DateTimeOffset? end)
        {
            await using var scope = Server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(1, await db.Users.Where(u => u.Id == user.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(x => x.LockoutEnabled, true).SetProperty(x => x.LockoutEnd, end)));
        }

        await SetLockoutEndAsync(DateTimeOffset.UtcNow.AddHours(1));
        var plain = await RefreshRequestAsync(client, token);
        Assert.True(plain.Json.ValueKind == JsonValueKind.Object && plain.Json.GetProperty("error").GetString() == "invalid_grant",
            $"locked in the database: {plain.Response.StatusCode} {plain.Json}");
        AssertSameAnswer(await RefreshRequestAsync(client, token, extra: Ignored), plain);
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);

        // A lock-out that has ended (an end in the past) does not refuse; the token the refusals left alone is redeemed now.
        await SetLockoutEndAsync(DateTimeOffset.UtcNow.AddMinutes(-1));
        var after = await RefreshRequestAsync(client, token);
        Assert.True(after.Response.StatusCode == HttpStatusCode.OK, after.Json.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 2, meter.Count);

        // And it was redeemed exactly once: presented again, it is reuse (RFC 9700 section 4.14.2), and the grant's newest
        // refresh token stops working with it.
        var reuse = await RefreshRequestAsync(client, token);
        Assert.True(reuse.Json.ValueKind == JsonValueKind.Object && reuse.Json.GetProperty("error").GetString() == "invalid_grant",
            $"reuse: {reuse.Response.StatusCode} {reuse.Json}");
        var newest = await RefreshRequestAsync(client, after.Json.GetProperty("refresh_token").GetString()!);
        Assert.True(newest.Json.ValueKind == JsonValueKind.Object && newest.Json.GetProperty("error").GetString() == "invalid_grant",
            $"newest after reuse: {newest.Response.StatusCode} {newest.Json}");
        Assert.Equal(RefreshFastPathOff ? 0 : 2, meter.Count);
    }

    [Fact]
    public async Task RefreshTokenFastPath_UnusualRequests_DeclinedToTheNormalPath()
    {
        var client = await Kit.RegisterWebClientAsync();
        var other = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId, other.ClientId);
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var token = flow.Tokens.RefreshToken!;

        // Refused by the normal path without a redemption: the same token serves every case.
        async Task RefusedAsync(string name, string error, WebClient? by = null, RefreshAuth auth = RefreshAuth.Basic,
            KeyValuePair<string, string>[]? extra = null, string query = "", Action<HttpRequestMessage>? shape = null, string? presented = null)
        {
            var counted = meter.Count;
            var answer = await RefreshRequestAsync(by ?? client, presented ?? token, auth, extra, query, shape);
            Assert.True(answer.Json.ValueKind == JsonValueKind.Object && answer.Json.TryGetProperty("error", out var e) && e.GetString() == error,
                $"{name}: {answer.Response.StatusCode} {answer.Json}");
            Assert.True(counted == meter.Count, $"{name}: counted by the fast path");
        }

        // A scope the client is not permitted (never granted either: RFC 6749 section 6), a second authentication method
        // (RFC 6749 section 2.3: invalid_request), a wrong secret, a confidential client without its secret, another
        // client's token (invalid_grant: the presenter), a tampered token.
        await RefusedAsync("scope not permitted", "invalid_request", extra: [new("scope", "openid email")]);
        await RefusedAsync("two methods", "invalid_request", extra: [new("client_secret", client.Secret!)]);
        await RefusedAsync("wrong secret", "invalid_client", by: client with { Secret = client.Secret + "x" });
        await RefusedAsync("wrong secret (post)", "invalid_client", by: client with { Secret = client.Secret + "x" }, auth: RefreshAuth.Post);
        await RefusedAsync("no secret", "invalid_client", auth: RefreshAuth.ClientIdOnly);
        await RefusedAsync("another client's token", "invalid_grant", by: other);
        var parts = token.Split('.');
        parts[3] = parts[3][..^2] + (parts[3][^2] == 'A' ? "B" : "A") + parts[3][^1];
        await RefusedAsync("tampered token", "invalid_grant", presented: string.Join('.', parts));

        // Accepted by the normal path, not by the fast path: an unknown parameter, a query string (both ignored by
        // OpenIddict), a scope parameter (even the whole grant), a DPoP header (RFC 9449: not a proof OpenIddict checks
        // at this endpoint, but not one the fast path weighs either); each answers 200 without the fast path's count,
        // and the next one uses its new token.
        foreach (var (name, extra, query, shape) in new (string, KeyValuePair<string, string>[]?, string, Action<HttpRequestMessage>?)[]
                 {
                     ("unknown parameter", Ignored, "", null),
                     ("query string", null, "?x_ignored=1", null),
                     ("scope", [new("scope", "openid profile phone offline_access")], "", null),
                     ("DPoP header", null, "", r => r.Headers.TryAddWithoutValidation("DPoP", "not-a-proof")),
                 })
        {
            var counted = meter.Count;
            var answer = await RefreshRequestAsync(client, token, extra: extra, query: query, shape: shape);
            Assert.True(answer.Response.StatusCode == HttpStatusCode.OK, $"{name}: {answer.Response.StatusCode} {answer.Json}");
            Assert.True(counted == meter.Count, $"{name}: counted by the fast path");
            token = answer.Json.GetProperty("refresh_token").GetString()!;
        }

        // The plain request is the fast path's (the meter counts, so the cases above were declined, not lost).
        var plain = await RefreshRequestAsync(client, token);
        Assert.True(plain.Response.StatusCode == HttpStatusCode.OK, plain.Json.ToString());
        Assert.Equal(RefreshFastPathOff ? 0 : 1, meter.Count);
    }

    /// <summary>A public client (client_id alone) is the normal path's: answered as before, never counted by the fast path.</summary>
    [Fact]
    public async Task RefreshTokenFastPath_PublicClient_AnsweredByTheNormalPath()
    {
        var client = await Kit.RegisterWebClientAsync(clientType: "public");
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var first = await Kit.CodeFlowAsync(browser, client, user);
        var second = await Kit.CodeFlowAsync(browser, client, user);
        Assert.False(string.IsNullOrEmpty(first.Tokens.RefreshToken));

        var plain = await RefreshRequestAsync(client, first.Tokens.RefreshToken!, RefreshAuth.PublicClient);
        var normal = await RefreshRequestAsync(client, second.Tokens.RefreshToken!, RefreshAuth.PublicClient, Ignored);
        AssertSameRefreshAnswer(normal, plain);
        Assert.Equal(0, meter.Count);

        // A public client presenting a secret is refused by the normal path (invalid_client).
        var withSecret = await RefreshRequestAsync(client, plain.Json.GetProperty("refresh_token").GetString()!, RefreshAuth.PublicClient,
            [new("client_secret", "not-a-secret")]);
        Assert.Equal("invalid_client", withSecret.Json.GetProperty("error").GetString());
        Assert.Equal(0, meter.Count);
    }
}
