using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The introspection fast path (Oidc/Handlers/IntrospectionFastPath, Oidc:IntrospectionFastPath, on by default) against
/// OpenIddict's normal pipeline on one server: a clean request (an unknown parameter, which OpenIddict ignores, sends the
/// same request to the normal path) is answered with the same status, headers, JSON members and values; whatever the fast
/// path leaves alone (a wrong secret, a token the caller is not a presenter of, a revoked token, an ID-less garbage token)
/// gets the normal path's answer, and the fast path's meter counts only what it answered.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private async Task<(HttpResponseMessage Response, JsonElement Json)> PostIntrospectionAsync(string clientId, string secret, bool basic,
        params (string Name, string Value)[] parameters)
    {
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        var form = parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)).ToList();
        if (!basic)
        {
            form.Add(new("client_id", clientId));
            form.Add(new("client_secret", secret));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, disco.IntrospectionEndpoint) { Content = new FormUrlEncodedContent(form) };
        if (basic)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(secret))));
        }

        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var json = body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
        return (response, json);
    }

    private static void AssertSameAnswer((HttpResponseMessage Response, JsonElement Json) expected, (HttpResponseMessage Response, JsonElement Json) actual)
    {
        Assert.Equal(expected.Response.StatusCode, actual.Response.StatusCode);
        Assert.Equal(expected.Response.Content.Headers.ContentType?.ToString(), actual.Response.Content.Headers.ContentType?.ToString());
        Assert.Equal(expected.Response.Headers.CacheControl?.ToString(), actual.Response.Headers.CacheControl?.ToString());
        Assert.Equal(expected.Response.Headers.Pragma.ToString(), actual.Response.Headers.Pragma.ToString());
        Assert.Equal(expected.Response.Headers.WwwAuthenticate.ToString(), actual.Response.Headers.WwwAuthenticate.ToString());
        // The same members in the same order, with the same JSON values (kinds included: numbers stay numbers).
        Assert.Equal(expected.Json.ToString(), actual.Json.ToString());
        Assert.Equal(expected.Json.EnumerateObject().Select(p => p.Name + "=" + p.Value.GetRawText()),
            actual.Json.EnumerateObject().Select(p => p.Name + "=" + p.Value.GetRawText()));
    }

    [Fact]
    public async Task Introspection_FastPath_AnswersAsTheNormalPath_ErrorsAndRevokedTokensByTheNormalPath()
    {
        if (Environment.GetEnvironmentVariable("Oidc__IntrospectionFastPath") is "false")
        {
            // The whole class runs against the normal path then: nothing to compare with.
            return;
        }

        long fast = 0;
        string? counting = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "IdentityHub" && instrument.Name == "identityhub.introspections.fast_path")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "client_id" && Equals(tag.Value, Volatile.Read(ref counting)))
                {
                    Interlocked.Add(ref fast, value);
                }
            }
        });
        listener.Start();

        // A user's access token (sub, sid, scope, the web client as presenter, aud identityhub), introspected by its client.
        var client = await Kit.RegisterWebClientAsync();
        var secret = client.Secret ?? throw new InvalidOperationException("A web client has a secret.");
        Volatile.Write(ref counting, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var token = flow.Tokens.AccessToken!;

        foreach (var basic in new[] { true, false })
        {
            var before = Interlocked.Read(ref fast);
            var answered = await PostIntrospectionAsync(client.ClientId, secret, basic, ("token", token), ("token_type_hint", "access_token"));
            Assert.True(answered.Response.StatusCode == HttpStatusCode.OK, answered.Json.ToString());
            Assert.True(answered.Json.GetProperty("active").GetBoolean(), answered.Json.ToString());
            Assert.Equal(before + 1, Interlocked.Read(ref fast));

            var normal = await PostIntrospectionAsync(client.ClientId, secret, basic, ("token", token), ("token_type_hint", "access_token"),
                ("x_ignored", "1"));
            Assert.Equal(before + 1, Interlocked.Read(ref fast));
            AssertSameAnswer(normal, answered);
            // RFC 7662 section 2.2, as the normal path answers the token's own client (not among its audiences).
            Assert.Equal(["active", "iss", "sub", "jti", "token_type", "token_usage", "client_id", "iat", "nbf", "exp", "aud"],
                answered.Json.EnumerateObject().Select(p => p.Name));
            Assert.Equal(OidcKit.JwtPayload(token).GetProperty("sub").GetString(), answered.Json.GetProperty("sub").GetString());
            Assert.Equal(client.ClientId, answered.Json.GetProperty("client_id").GetString());
        }

        // Without token_type_hint: the same answer.
        var noHint = await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token));
        AssertSameAnswer(await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token), ("x_ignored", "1")), noHint);
        var counted = Interlocked.Read(ref fast);
        Assert.Equal(3, counted);

        // A service client's token introspected by itself (client_credentials: sub is the client, no sid or scope).
        var (serviceId, serviceSecret) = await Kit.RegisterServiceClientAsync();
        var serviceToken = (await ClientCredentialsAsync(serviceId, serviceSecret)).AccessToken!;
        AssertSameAnswer(await PostIntrospectionAsync(serviceId, serviceSecret, true, ("token", serviceToken), ("x_ignored", "1")),
            await PostIntrospectionAsync(serviceId, serviceSecret, true, ("token", serviceToken)));

        // What the fast path leaves to the normal path, with the normal path's answer, and nothing counted for the web client:
        // a wrong secret (401 invalid_client), another client's token (active false: not its presenter), a garbage token, a
        // token_type_hint of refresh_token, a refresh token.
        var wrong = await PostIntrospectionAsync(client.ClientId, secret + "x", true, ("token", token));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Response.StatusCode);
        Assert.Equal("invalid_client", wrong.Json.GetProperty("error").GetString());
        AssertSameAnswer(await PostIntrospectionAsync(client.ClientId, secret + "x", true, ("token", token), ("x_ignored", "1")), wrong);
        var foreign = await PostIntrospectionAsync(client.ClientId, secret, true, ("token", serviceToken));
        Assert.Equal(["active"], foreign.Json.EnumerateObject().Select(p => p.Name));
        Assert.False(foreign.Json.GetProperty("active").GetBoolean());
        var garbage = await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token[..^4] + "AAAA"));
        Assert.False(garbage.Json.GetProperty("active").GetBoolean());
        var refresh = await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token), ("token_type_hint", "refresh_token"));
        AssertSameAnswer(noHint, refresh);
        Assert.Equal(counted, Interlocked.Read(ref fast));

        // Revoked (RFC 7009): active false at once, from the normal path, and the fast path answers nothing for it.
        var revocation = await RevokeAsync(client.ClientId, secret, token, "access_token");
        Assert.Equal(HttpStatusCode.OK, revocation.HttpStatusCode);
        var revoked = await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token), ("token_type_hint", "access_token"));
        Assert.Equal(HttpStatusCode.OK, revoked.Response.StatusCode);
        Assert.Equal(["active"], revoked.Json.EnumerateObject().Select(p => p.Name));
        Assert.False(revoked.Json.GetProperty("active").GetBoolean());
        AssertSameAnswer(await PostIntrospectionAsync(client.ClientId, secret, true, ("token", token), ("x_ignored", "1")), revoked);
        Assert.Equal(counted, Interlocked.Read(ref fast));
    }
}
