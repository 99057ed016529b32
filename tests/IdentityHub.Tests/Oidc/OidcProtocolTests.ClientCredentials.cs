using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The exact shape of a client_credentials answer (RFC 6749 section 4.4.3, RFC 9068): which members the response has,
/// which claims and header fields the access token carries, with and without scopes, and the errors around it. The grant is signed in
/// inside OpenIddict (Handlers/SignInClientCredentials) rather than passed through to the token endpoint: these pin
/// what the pass-through produced, so that neither path drifts. They run against the fast path
/// (Handlers/ClientCredentialsFastPath, Oidc:ClientCredentialsFastPath, on by default) and, with the environment variable
/// Oidc__ClientCredentialsFastPath=false, against the normal pipeline; <see cref="ClientCredentials_FastPath_AnswersCleanRequests_ExactlyAsTheNormalPath"/>
/// compares the two on one server.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private async Task<(HttpResponseMessage Response, JsonElement Json)> PostClientCredentialsAsync(string clientId, string secret,
        params (string Name, string Value)[] parameters)
    {
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        form.AddRange(parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)));
        using var request = new HttpRequestMessage(HttpMethod.Post, disco.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
            Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(secret))));
        var response = await http.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response, json);
    }

    [Fact]
    public async Task ClientCredentials_NoScope_ExactResponseMembersClaimsAndHeader()
    {
        var (clientId, secret) = await Kit.RegisterServiceClientAsync();

        var (response, json) = await PostClientCredentialsAsync(clientId, secret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        // RFC 6749 section 5.1: no caching of a token response.
        Assert.True(response.Headers.CacheControl?.NoStore, response.Headers.CacheControl?.ToString());
        Assert.Equal(["access_token", "expires_in", "token_type"], json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Bearer", json.GetProperty("token_type").GetString());
        // Seconds left, rounded down (OpenIddict): 899 or 900 for the configured 15 minutes.
        Assert.InRange(json.GetProperty("expires_in").GetInt32(), 15 * 60 - 5, 15 * 60);

        var token = json.GetProperty("access_token").GetString()!;
        var header = OidcKit.JwtHeader(token);
        // x5t: the test server signs with a certificate.
        Assert.Equal(["alg", "kid", "typ", "x5t"], header.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("at+jwt", header.GetProperty("typ").GetString());
        var keys = JsonDocument.Parse(await (await Server.CreateHttpClient().GetAsync("/.well-known/jwks")).Content.ReadAsStringAsync())
            .RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        Assert.Contains(header.GetProperty("kid").GetString(), keys);

        // RFC 9068 section 2.2; the client's display name (the principal's name claim) never goes into the access token.
        var payload = OidcKit.JwtPayload(token);
        Assert.Equal(["aud", "client_id", "exp", "iat", "iss", "jti", "oi_prst", "sub"],
            payload.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("identityhub", payload.GetProperty("aud").GetString());
        Assert.Equal(clientId, payload.GetProperty("sub").GetString());
        Assert.Equal(clientId, payload.GetProperty("client_id").GetString());
        // OpenIddict's presenters claim: the client the token was issued to.
        Assert.Equal([clientId], Strings(payload.GetProperty("oi_prst")));
        Assert.Equal(15 * 60, payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64());
    }

    [Fact]
    public async Task ClientCredentials_Scope_InToken_UnknownResourceAndForbiddenScopeRefused()
    {
        var clientId = OidcKit.UniqueId("svc");
        var secret = (await Kit.Admin.RegisterClientAsync(clientId, "confidential", ["client_credentials"], [], ["phone", "email"]))!;

        var (response, json) = await PostClientCredentialsAsync(clientId, secret, ("scope", "phone"));

        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        // RFC 6749 section 5.1: scope is omitted when the granted scopes are the requested ones.
        Assert.Equal(["access_token", "expires_in", "token_type"], json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var payload = OidcKit.JwtPayload(json.GetProperty("access_token").GetString()!);
        Assert.Equal(["aud", "client_id", "exp", "iat", "iss", "jti", "oi_prst", "scope", "sub"],
            payload.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("phone", payload.GetProperty("scope").GetString());
        Assert.Equal("identityhub", payload.GetProperty("aud").GetString());

        // RFC 8707 section 2: a resource the client is not allowed to name: invalid_target, as before.
        var (target, targetError) = await PostClientCredentialsAsync(clientId, secret, ("resource", "https://api-a.test/"));
        Assert.Equal(HttpStatusCode.BadRequest, target.StatusCode);
        Assert.Equal("invalid_target", targetError.GetProperty("error").GetString());

        // A known scope the client may not use (OpenIddict answers invalid_request), and an unknown one (invalid_scope).
        var (refused, error) = await PostClientCredentialsAsync(clientId, secret, ("scope", "profile"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_request", error.GetProperty("error").GetString());
        var (unknown, unknownError) = await PostClientCredentialsAsync(clientId, secret, ("scope", "no-such-scope"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("invalid_scope", unknownError.GetProperty("error").GetString());
    }

    /// <summary>
    /// A clean request (client_secret_basic, and client_secret_post) is answered by the fast path (its meter counts it for
    /// this client), one with a parameter the fast path leaves alone (an unknown one, which OpenIddict ignores) by the normal
    /// pipeline; the two answers are the same: response members and headers, token header, claim names, kinds and values
    /// (but jti, iat and exp), lifetime.
    /// </summary>
    [Fact]
    public async Task ClientCredentials_FastPath_AnswersCleanRequests_ExactlyAsTheNormalPath()
    {
        if (Environment.GetEnvironmentVariable("Oidc__ClientCredentialsFastPath") is "false")
        {
            // The whole class runs against the normal path then: nothing to compare with.
            return;
        }

        var clientId = OidcKit.UniqueId("svc");
        var secret = (await Kit.Admin.RegisterClientAsync(clientId, "confidential", ["client_credentials"], [], ["phone", "email"]))!;
        long fast = 0, issued = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "IdentityHub" && instrument.Name is "identityhub.tokens.fast_path" or "identityhub.tokens.issued")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "client_id" && Equals(tag.Value, clientId))
                {
                    // Both paths count the token for its client, whichever authentication method named it.
                    Interlocked.Add(ref instrument.Name == "identityhub.tokens.issued" ? ref issued : ref fast, value);
                }
            }
        });
        listener.Start();

        var (fastResponse, fastJson) = await PostClientCredentialsAsync(clientId, secret, ("scope", "phone email"));
        Assert.True(fastResponse.StatusCode == HttpStatusCode.OK, fastJson.ToString());
        Assert.Equal(1, Interlocked.Read(ref fast));

        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        using var post = await http.PostAsync(disco.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret, ["scope"] = "phone email",
        }));
        var postJson = JsonDocument.Parse(await post.Content.ReadAsStringAsync()).RootElement.Clone();
        Assert.True(post.StatusCode == HttpStatusCode.OK, postJson.ToString());
        Assert.Equal(2, Interlocked.Read(ref fast));

        var (normalResponse, normalJson) = await PostClientCredentialsAsync(clientId, secret, ("scope", "phone email"), ("x_ignored", "1"));
        Assert.True(normalResponse.StatusCode == HttpStatusCode.OK, normalJson.ToString());
        Assert.Equal(2, Interlocked.Read(ref fast));
        // ProtocolMetrics counts a request once its pipeline has returned, which may be just after the client has the answer.
        await Sessions.Poll.UntilAsync(() => Task.FromResult(Interlocked.Read(ref issued) >= 3), "the third token counted");
        Assert.Equal(3, Interlocked.Read(ref issued));

        var normalBody = await normalResponse.Content.ReadAsStringAsync();
        foreach (var (response, json) in new[] { (fastResponse, fastJson), (post, postJson) })
        {
            // The body byte for byte (OpenIddict's indentation and escaping), the token and the seconds left aside, and
            // every header OpenIddict's ApplyTokenResponse handlers set.
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(BodyShape(normalBody, normalJson), BodyShape(body, json));
            Assert.Equal(Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
            Assert.Equal(normalResponse.StatusCode, response.StatusCode);
            Assert.Equal(normalResponse.Content.Headers.Expires, response.Content.Headers.Expires);
            Assert.NotNull(response.Content.Headers.Expires);
            Assert.Empty(response.Headers.WwwAuthenticate);
            Assert.Equal(normalResponse.Content.Headers.ContentType?.ToString(), response.Content.Headers.ContentType?.ToString());
            Assert.Equal(normalResponse.Headers.CacheControl?.ToString(), response.Headers.CacheControl?.ToString());
            Assert.Equal(normalResponse.Headers.Pragma.ToString(), response.Headers.Pragma.ToString());
            Assert.Equal(Names(normalJson), Names(json));
            Assert.Equal(normalJson.GetProperty("token_type").GetString(), json.GetProperty("token_type").GetString());
            Assert.InRange(json.GetProperty("expires_in").GetInt32(), normalJson.GetProperty("expires_in").GetInt32() - 2,
                normalJson.GetProperty("expires_in").GetInt32() + 2);

            var token = json.GetProperty("access_token").GetString()!;
            var normalToken = normalJson.GetProperty("access_token").GetString()!;
            Assert.Equal(OidcKit.JwtHeader(normalToken).ToString(), OidcKit.JwtHeader(token).ToString());
            var payload = OidcKit.JwtPayload(token);
            var expected = OidcKit.JwtPayload(normalToken);
            Assert.Equal(Names(expected), Names(payload));
            foreach (var claim in expected.EnumerateObject().Where(c => c.Name is not ("jti" or "iat" or "exp")))
            {
                Assert.Equal(claim.Value.GetRawText(), payload.GetProperty(claim.Name).GetRawText());
            }

            Assert.Equal(expected.GetProperty("jti").ValueKind, payload.GetProperty("jti").ValueKind);
            Assert.True(Guid.TryParse(payload.GetProperty("jti").GetString(), out _), payload.GetProperty("jti").GetString());
            Assert.NotEqual(expected.GetProperty("jti").GetString(), payload.GetProperty("jti").GetString());
            Assert.Equal(expected.GetProperty("exp").GetInt64() - expected.GetProperty("iat").GetInt64(),
                payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64());
            Assert.InRange(payload.GetProperty("iat").GetInt64(), expected.GetProperty("iat").GetInt64() - 120, expected.GetProperty("iat").GetInt64());
        }

        // Wrong secret, and a scope the client may not use: the normal path's errors, and the fast path counted nothing.
        var (wrong, wrongJson) = await PostClientCredentialsAsync(clientId, secret + "x");
        Assert.False(wrong.IsSuccessStatusCode);
        Assert.Equal("invalid_client", wrongJson.GetProperty("error").GetString());
        var (refused, refusedJson) = await PostClientCredentialsAsync(clientId, secret, ("scope", "profile"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_request", refusedJson.GetProperty("error").GetString());
        Assert.Equal(2, Interlocked.Read(ref fast));

        static IEnumerable<string> Names(JsonElement json) => json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);

        static string BodyShape(string body, JsonElement json) => System.Text.RegularExpressions.Regex.Replace(
            body.Replace(json.GetProperty("access_token").GetString()!, "<token>", StringComparison.Ordinal),
            "(\"expires_in\":\\s*)[0-9]+", "${1}<seconds>");
    }
}
