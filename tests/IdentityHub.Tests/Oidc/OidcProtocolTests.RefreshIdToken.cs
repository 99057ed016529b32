using System.Net;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// A refresh's ID token (Oidc/RefreshIdTokens): OpenID Connect Core 1.0 section 12.2 lets a refresh response leave it out,
/// and by default it does, on the fast path and on the normal path alike, with no claims.released event (nothing personal
/// is sent). A client registered with idTokenOnRefresh gets one with every refresh, switched with the registry at once.
/// The sign-in's own token response keeps its ID token either way.
/// </summary>
public abstract partial class OidcProtocolTests
{
    [Fact]
    public async Task RefreshIdToken_ByDefault_LeftOutOnBothPaths_NothingReleased_ThenOnOnceTheClientAsks()
    {
        var client = await Kit.RegisterWebClientAsync(idTokenOnRefresh: false);
        using var meter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var fastPath = RefreshFastPathOff ? 0 : 1;
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var fastFlow = await Kit.CodeFlowAsync(browser, client, user);
        var normalFlow = await Kit.CodeFlowAsync(browser, client, user);
        var narrowFlow = await Kit.CodeFlowAsync(browser, client, user);
        Assert.False(string.IsNullOrEmpty(fastFlow.Tokens.IdentityToken), "the sign-in's token response has its ID token");

        var events = (await RefreshEventsAsync(client.ClientId)).Count;
        // A plain request (the fast path, unless switched off), and one with a parameter OpenIddict ignores (the normal path),
        // and one narrowing the scope to openid and offline_access (the normal path, through OpenIddict's scope checks).
        var fast = await RefreshRequestAsync(client, fastFlow.Tokens.RefreshToken!);
        Assert.Equal(fastPath, meter.Count);
        var normal = await RefreshRequestAsync(client, normalFlow.Tokens.RefreshToken!, extra: Ignored);
        AssertSameRefreshAnswer(normal, fast);
        var narrowed = await RefreshRequestAsync(client, narrowFlow.Tokens.RefreshToken!, extra: [new("scope", "openid offline_access")]);
        Assert.Equal(fastPath, meter.Count);
        Assert.True(narrowed.Response.StatusCode == HttpStatusCode.OK, narrowed.Json.ToString());
        foreach (var answer in new[] { fast, normal, narrowed })
        {
            Assert.False(answer.Json.TryGetProperty("id_token", out _), answer.Json.ToString());
            Assert.True((await Kit.ValidateJwtAsync(answer.Json.GetProperty("access_token").GetString()!, "identityhub", "at+jwt", "RS256")).IsValid);
            Assert.False(string.IsNullOrEmpty(answer.Json.GetProperty("refresh_token").GetString()));
            Assert.Equal("Bearer", answer.Json.GetProperty("token_type").GetString());
        }

        // One token.refreshed each and no claims.released: no personal claim left the server.
        var after = await RefreshEventsAsync(client.ClientId);
        Assert.Equal(events + 3, after.Count);
        Assert.All(after[^3..], e => Assert.StartsWith("token.refreshed|", e));

        // The client asks for ID tokens with its refreshes (the registry, as an administrator edits it): the next refresh,
        // on either path, has one, per section 12.2 (iss, sub, aud, azp, auth_time of the sign-in, a new iat), and its
        // release is recorded.
        await Kit.Admin.SetIdTokenOnRefreshAsync(client.ClientId, true);
        var original = OidcKit.JwtPayload(fastFlow.Tokens.IdentityToken!);
        var asked = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var fastAgain = await RefreshRequestAsync(client, fast.Json.GetProperty("refresh_token").GetString()!);
        Assert.Equal(2 * fastPath, meter.Count);
        var normalAgain = await RefreshRequestAsync(client, normal.Json.GetProperty("refresh_token").GetString()!, extra: Ignored);
        Assert.Equal(2 * fastPath, meter.Count);
        foreach (var answer in new[] { fastAgain, normalAgain })
        {
            Assert.True(answer.Response.StatusCode == HttpStatusCode.OK, answer.Json.ToString());
            var id = answer.Json.GetProperty("id_token").GetString()!;
            Assert.True((await Kit.ValidateJwtAsync(id, client.ClientId, "JWT", "RS256")).IsValid);
            var refreshed = OidcKit.JwtPayload(id);
            foreach (var claim in new[] { "iss", "sub", "aud", "azp", "auth_time", "acr", "amr", "sid" })
            {
                Assert.Equal(original.GetProperty(claim).GetRawText(), refreshed.GetProperty(claim).GetRawText());
            }

            // A new iat: the time of this refresh (whole seconds), not the sign-in's.
            Assert.InRange(refreshed.GetProperty("iat").GetInt64(), asked - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        }

        var released = await RefreshEventsAsync(client.ClientId);
        Assert.Equal(events + 3 + 4, released.Count);
        Assert.Equal(2, released[^4..].Count(e => e.StartsWith("claims.released|", StringComparison.Ordinal)));

        // And back off: no ID token again.
        await Kit.Admin.SetIdTokenOnRefreshAsync(client.ClientId, false);
        var off = await RefreshRequestAsync(client, fastAgain.Json.GetProperty("refresh_token").GetString()!);
        Assert.True(off.Response.StatusCode == HttpStatusCode.OK, off.Json.ToString());
        Assert.False(off.Json.TryGetProperty("id_token", out _));
        Assert.Equal(3 * fastPath, meter.Count);

        // The code exchange keeps its ID token whatever the setting, on the normal path as on the fast one.
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(browser, client, user);
        var exchanged = await CodeRequestAsync(client, callback["code"]!, pkce.Verifier, RefreshAuth.Basic, Ignored);
        Assert.True(exchanged.Response.StatusCode == HttpStatusCode.OK, exchanged.Json.ToString());
        Assert.True((await Kit.ValidateJwtAsync(exchanged.Json.GetProperty("id_token").GetString()!, client.ClientId, "JWT", "RS256")).IsValid);
    }
}
