using Duende.IdentityModel.Client;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

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
        var (pairwise, department) = await RegisterPairwiseWebClientAsync();
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

    /// <summary>A confidential pairwise web client (code and refresh grants) of a department of its own, and that department.</summary>
    private async Task<(WebClient Client, string Department)> RegisterPairwiseWebClientAsync()
    {
        var department = UniqueNames.Department();
        var pairwiseId = OidcKit.UniqueId("web");
        var pairwiseBase = $"https://{pairwiseId}.apps.test";
        var pairwiseSecret = await Kit.Admin.RegisterClientAsync(pairwiseId, "confidential", ["authorization_code", "refresh_token"],
            [pairwiseBase + "/signin-oidc"], ["openid", "profile", "phone", "offline_access"], [pairwiseBase + "/signout-callback-oidc"],
            department, "pairwise");
        return (new WebClient(pairwiseId, pairwiseSecret, pairwiseBase + "/signin-oidc", pairwiseBase + "/signout-callback-oidc"), department);
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
}
