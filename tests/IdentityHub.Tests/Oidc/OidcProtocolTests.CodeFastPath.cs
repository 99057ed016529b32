using System.Net;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The authorization_code grant's fast path (Oidc/Handlers/AuthorizationCodeFastPath, Oidc:AuthorizationCodeFastPath) against
/// the normal pipeline on one server, over real HTTP: a plain code exchange (grant_type, code, redirect_uri, code_verifier and
/// the client's credentials by client_secret_basic, client_secret_post, or a public client's client_id) is answered by the fast
/// path; the same request with an unknown parameter (which OpenIddict ignores) goes to the normal path. Both answers carry
/// the same members, headers and token claims (at_hash, nonce, auth_time, acr, amr, sid, aud, azp), store alike refresh
/// tokens and code entries, and write the same token.issued and claims.released events. Every refusal (RFC 6749 section
/// 4.1.3, RFC 7636 section 4.6: another redirect_uri, a wrong or malformed verifier, another client's code, a wrong
/// secret, a public client with a secret, an unknown, expired or reused code, a revoked authorization, an ended session, a
/// disabled client) gets the normal path's answer, byte for byte, and is not counted by identityhub.code.fast_path; a code
/// redeemed by the fast path and presented again revokes what it issued (RFC 6749 section 4.1.2), as on the normal path.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private const string CodeFastPathMeter = "identityhub.code.fast_path";

    private const string CodeType = OpenIddict.Abstractions.OpenIddictConstants.TokenTypeIdentifiers.Private.AuthorizationCode;

    private static bool CodeFastPathOff => Environment.GetEnvironmentVariable("Oidc__AuthorizationCodeFastPath") is "false";

    /// <summary>A code exchange over raw HTTP (<see cref="TokenRequestAsync"/>), shaped as the caller says; the answer's JSON.</summary>
    private Task<(HttpResponseMessage Response, JsonElement Json)> CodeRequestAsync(WebClient client, string code, string verifier,
        RefreshAuth auth = RefreshAuth.Basic, IEnumerable<KeyValuePair<string, string>>? extra = null, string? redirectUri = null,
        Action<List<KeyValuePair<string, string>>>? shape = null) =>
        TokenRequestAsync(client,
            [
                new("grant_type", "authorization_code"), new("code", code), new("redirect_uri", redirectUri ?? client.RedirectUri),
                new("code_verifier", verifier),
            ],
            auth, extra, shapeForm: shape);

    /// <summary>The code's entry: status, type and whether it was redeemed.</summary>
    private async Task<(string? Status, DateTime? RedemptionDate)> CodeEntryAsync(string authorizationId)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var entry = await db.Set<HubToken>().AsNoTracking()
            .Where(t => t.Authorization!.Id == authorizationId && t.Type == CodeType)
            .Select(t => new { t.Status, t.RedemptionDate }).SingleAsync();
        return (entry.Status, entry.RedemptionDate);
    }

    [Theory]
    [InlineData("confidential", RefreshAuth.Basic)]
    [InlineData("confidential", RefreshAuth.Post)]
    [InlineData("public", RefreshAuth.PublicClient)]
    public async Task CodeFastPath_AnswersAsTheNormalPath_SameTokensEventsAndEntries(string clientType, RefreshAuth auth)
    {
        var client = await Kit.RegisterWebClientAsync(clientType: clientType);
        using var meter = new FastPathMeter(CodeFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        // Two codes of one session (same claims, sid, auth_time, acr, amr): one exchanged by each path.
        var (fastCallback, fastPkce, fastNonce) = await Kit.AuthorizeForCodeAsync(browser, client, user);
        var (normalCallback, normalPkce, normalNonce) = await Kit.AuthorizeForCodeAsync(browser, client, user);

        var events = (await RefreshEventsAsync(client.ClientId, "token.issued")).Count;
        var fast = await CodeRequestAsync(client, fastCallback["code"]!, fastPkce.Verifier, auth);
        Assert.True(fast.Response.StatusCode == HttpStatusCode.OK, fast.Json.ToString());
        Assert.Equal(CodeFastPathOff ? 0 : 1, meter.Count);
        var normal = await CodeRequestAsync(client, normalCallback["code"]!, normalPkce.Verifier, auth, Ignored);
        Assert.True(normal.Response.StatusCode == HttpStatusCode.OK, normal.Json.ToString());
        Assert.Equal(CodeFastPathOff ? 0 : 1, meter.Count);

        // Status, headers, members in order, token claims (all but what is per token), the refresh tokens inside and their entries.
        await AssertSameGrantAnswerAsync(client.ClientId, normal, fast);
        var id = fast.Json.GetProperty("id_token").GetString()!;

        // OIDC Core sections 2 and 3.1.3.6: nonce (each its own request's), aud and azp the client, auth_time, acr, amr, sid of
        // the session; no c_hash at the token endpoint.
        var fastId = OidcKit.JwtPayload(id);
        var normalId = OidcKit.JwtPayload(normal.Json.GetProperty("id_token").GetString()!);
        Assert.Equal(fastNonce, fastId.GetProperty("nonce").GetString());
        Assert.Equal(normalNonce, normalId.GetProperty("nonce").GetString());
        Assert.Equal(client.ClientId, fastId.GetProperty("aud").GetString());
        Assert.Equal(client.ClientId, fastId.GetProperty("azp").GetString());
        foreach (var claim in new[] { "sub", "auth_time", "acr", "amr", "sid" })
        {
            Assert.Equal(normalId.GetProperty(claim).GetRawText(), fastId.GetProperty(claim).GetRawText());
        }

        Assert.False(fastId.TryGetProperty("c_hash", out _));

        // The same events from both paths: token.issued and claims.released, once each per answer.
        var after = await RefreshEventsAsync(client.ClientId, "token.issued");
        Assert.Equal(events + 4, after.Count);
        Assert.Equal(after[^4], after[^2]);
        Assert.Equal(after[^3], after[^1]);
        Assert.StartsWith("token.issued|", after[^2]);
        Assert.StartsWith("claims.released|", after[^1]);

        // Both codes redeemed, with their dates; the tokens of either path work on (refreshed, introspected).
        foreach (var answer in new[] { fast, normal })
        {
            var refreshToken = answer.Json.GetProperty("refresh_token").GetString()!;
            var (status, redeemedAt) = await CodeEntryAsync((await OpenRefreshTokenAsync(refreshToken)).Payload.GetProperty("oi_au_id").GetString()!);
            Assert.Equal("redeemed", status);
            Assert.NotNull(redeemedAt);
            if (clientType == "confidential")
            {
                Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, refreshToken, "refresh_token")).IsActive);
            }

            var refreshed = await RefreshRequestAsync(client, answer.Json.GetProperty("refresh_token").GetString()!,
                clientType == "public" ? RefreshAuth.PublicClient : auth);
            Assert.True(refreshed.Response.StatusCode == HttpStatusCode.OK, refreshed.Json.ToString());
        }
    }

    [Fact]
    public async Task CodeFastPath_Refusals_AnsweredByTheNormalPath_ByteForByte()
    {
        var client = await Kit.RegisterWebClientAsync();
        var other = await Kit.RegisterWebClientAsync();
        var publicClient = await Kit.RegisterWebClientAsync(clientType: "public");
        using var meter = new FastPathMeter(CodeFastPathMeter, client.ClientId, other.ClientId, publicClient.ClientId);
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var code = callback["code"]!;

        // Refused before any redemption, so the same code serves every case: plain, then through the normal path.
        async Task RefusedAsync(string name, string error, WebClient? by = null, RefreshAuth auth = RefreshAuth.Basic, string? presented = null,
            string? verifier = null, string? redirectUri = null, Action<List<KeyValuePair<string, string>>>? shape = null)
        {
            var counted = meter.Count;
            var plain = await CodeRequestAsync(by ?? client, presented ?? code, verifier ?? pkce.Verifier, auth, null, redirectUri, shape);
            Assert.True(plain.Json.ValueKind == JsonValueKind.Object && plain.Json.TryGetProperty("error", out var e) && e.GetString() == error,
                $"{name}: {plain.Response.StatusCode} {plain.Json}");
            var normal = await CodeRequestAsync(by ?? client, presented ?? code, verifier ?? pkce.Verifier, auth, Ignored, redirectUri, shape);
            AssertSameAnswer(normal, plain);
            Assert.True(counted == meter.Count, $"{name}: counted by the fast path");
        }

        // RFC 6749 section 4.1.3: the redirect_uri of the authorization request, exactly (a trailing slash, another case).
        await RefusedAsync("another redirect_uri", "invalid_grant", redirectUri: client.RedirectUri + "/");
        await RefusedAsync("redirect_uri in another case", "invalid_grant", redirectUri: client.RedirectUri.ToUpperInvariant());
        // RFC 7636 section 4.6: a verifier that does not match, one of the wrong form, the challenge itself.
        await RefusedAsync("wrong verifier", "invalid_grant", verifier: Pkce.Create().Verifier);
        await RefusedAsync("malformed verifier", "invalid_grant", verifier: "short");
        await RefusedAsync("the challenge as verifier", "invalid_grant", verifier: pkce.Challenge);
        // The code is bound to its client; the client authenticates as registered.
        await RefusedAsync("another client's code", "invalid_grant", by: other);
        await RefusedAsync("wrong secret", "invalid_client", by: client with { Secret = client.Secret + "x" });
        await RefusedAsync("wrong secret (post)", "invalid_client", by: client with { Secret = client.Secret + "x" }, auth: RefreshAuth.Post);
        await RefusedAsync("confidential client without its secret", "invalid_client", auth: RefreshAuth.ClientIdOnly);
        await RefusedAsync("public client with a secret", "invalid_client", by: publicClient with { Secret = "not-a-secret" }, auth: RefreshAuth.Post);
        await RefusedAsync("unknown code", "invalid_grant", presented: code[..^2] + (code[^2] == 'A' ? "B" : "A") + code[^1]);
        await RefusedAsync("no code_verifier", "invalid_request", shape: f => f.RemoveAll(p => p.Key == "code_verifier"));
        await RefusedAsync("no redirect_uri", "invalid_request", shape: f => f.RemoveAll(p => p.Key == "redirect_uri"));

        // Each of these on a code of its own, changed in the database as the event would change it. The new code's
        // authorization is the one no earlier code of the client hangs from: a code entry's creation date has whole
        // seconds (OpenIddict's creation date claim), so the newest by date is ambiguous within a second.
        async Task<(string Code, string Verifier, string AuthorizationId)> FreshCodeAsync(TestUser person)
        {
            var before = await CodeAuthorizationsAsync();
            var (c, p, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, person);
            var authorizationId = Assert.Single((await CodeAuthorizationsAsync()).Except(before));
            return (c["code"]!, p.Verifier, authorizationId);
        }

        async Task<List<string>> CodeAuthorizationsAsync()
        {
            await using var scope = Server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            return await db.Set<HubToken>().Where(t => t.Type == CodeType && t.Application!.ClientId == client.ClientId)
                .Select(t => t.Authorization!.Id!).ToListAsync();
        }

        // An expired code (its entry's expiration date, which OpenIddict restores on the principal, passed).
        var expired = await FreshCodeAsync(user);
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(1, await db.Set<HubToken>().Where(t => t.Authorization!.Id == expired.AuthorizationId && t.Type == CodeType)
                .ExecuteUpdateAsync(u => u.SetProperty(t => t.ExpirationDate, DateTime.UtcNow.AddMinutes(-10))));
        }

        await RefusedAsync("expired code", "invalid_grant", presented: expired.Code, verifier: expired.Verifier);

        // A revoked authorization (consent withdrawn, a grant revoked).
        var revoked = await FreshCodeAsync(user);
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(1, await db.Set<HubAuthorization>().Where(a => a.Id == revoked.AuthorizationId)
                .ExecuteUpdateAsync(u => u.SetProperty(a => a.Status, "revoked")));
        }

        await RefusedAsync("revoked authorization", "invalid_grant", presented: revoked.Code, verifier: revoked.Verifier);

        // An ended session whose grant was not revoked (a token request racing the logout): the token endpoint's own check.
        var ending = await Kit.CreateUserAsync();
        var ended = await FreshCodeAsync(ending);
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            Assert.Equal(1, await db.Set<IdentityHub.Server.Sessions.SsoSession>().Where(s => s.UserId == ending.Id && s.EndedAtUtc == null)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAtUtc, DateTime.UtcNow)));
        }

        await RefusedAsync("ended session", "invalid_grant", presented: ended.Code, verifier: ended.Verifier);

        // None of the refusals above redeemed the first code: it is exchanged now, by the fast path.
        var counted = meter.Count;
        var exchanged = await CodeRequestAsync(client, code, pkce.Verifier);
        Assert.True(exchanged.Response.StatusCode == HttpStatusCode.OK, exchanged.Json.ToString());
        Assert.Equal(counted + (CodeFastPathOff ? 0 : 1), meter.Count);

        // A disabled client: unauthorized_client (RejectInactiveClients), on both paths.
        var last = await FreshCodeAsync(user);
        using (var response = await admin.PostAsync($"/api/admin/clients/{client.ClientId}/disable", null))
        {
            Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        }

        await RefusedAsync("disabled client", "unauthorized_client", presented: last.Code, verifier: last.Verifier);
    }

    [Fact]
    public async Task CodeFastPath_ReusedCode_RefusedAsTheNormalPath_WhatItIssuedRevoked()
    {
        var client = await Kit.RegisterWebClientAsync();
        using var meter = new FastPathMeter(CodeFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();

        // Redeemed by the fast path, then presented again (plain): refused, and the tokens it issued revoked (RFC 6749 section 4.1.2).
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var first = await CodeRequestAsync(client, callback["code"]!, pkce.Verifier);
        Assert.True(first.Response.StatusCode == HttpStatusCode.OK, first.Json.ToString());
        Assert.Equal(CodeFastPathOff ? 0 : 1, meter.Count);
        var reuse = await CodeRequestAsync(client, callback["code"]!, pkce.Verifier);
        Assert.Equal(HttpStatusCode.BadRequest, reuse.Response.StatusCode);
        Assert.Equal("invalid_grant", reuse.Json.GetProperty("error").GetString());
        Assert.Equal(CodeFastPathOff ? 0 : 1, meter.Count);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, first.Json.GetProperty("refresh_token").GetString()!, "refresh_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, first.Json.GetProperty("access_token").GetString()!, "access_token")).IsActive);
        Assert.Equal("invalid_grant", (await RefreshRequestAsync(client, first.Json.GetProperty("refresh_token").GetString()!)).Json.GetProperty("error").GetString());

        // The same refusal as the normal path's (another code, redeemed and reused through the normal path).
        var (otherCallback, otherPkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        Assert.Equal(HttpStatusCode.OK, (await CodeRequestAsync(client, otherCallback["code"]!, otherPkce.Verifier, extra: Ignored)).Response.StatusCode);
        var normalReuse = await CodeRequestAsync(client, otherCallback["code"]!, otherPkce.Verifier, extra: Ignored);
        AssertSameAnswer(normalReuse, reuse);

        // Two concurrent exchanges of one code: exactly one answer with tokens, the other invalid_grant, and the winner's
        // refresh token revoked with the loser's reuse detection.
        var (raceCallback, racePkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var race = await Task.WhenAll(
            CodeRequestAsync(client, raceCallback["code"]!, racePkce.Verifier),
            CodeRequestAsync(client, raceCallback["code"]!, racePkce.Verifier));
        Assert.Single(race, r => r.Response.StatusCode == HttpStatusCode.OK);
        var loser = Assert.Single(race, r => r.Response.StatusCode != HttpStatusCode.OK);
        Assert.Equal("invalid_grant", loser.Json.GetProperty("error").GetString());
        var winner = race.Single(r => r.Response.StatusCode == HttpStatusCode.OK);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, winner.Json.GetProperty("refresh_token").GetString()!, "refresh_token")).IsActive);
    }
}
