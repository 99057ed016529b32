using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IdentityHub.Benchmarks;

/// <summary>A registered client as the load needs it.</summary>
public sealed record ClientInfo(string ClientId, string ClientSecret, string RedirectUri, string Scope)
{
    private byte[]? _authorizationLine;

    /// <summary>"Authorization: Basic ...\r\n" (client_secret_basic), encoded once for every request of the client.</summary>
    [JsonIgnore]
    public byte[] AuthorizationLine => _authorizationLine ??=
        Encoding.ASCII.GetBytes("Authorization: " + OidcFlows.Basic(ClientId, ClientSecret) + "\r\n");
}

public sealed record TokenSet(string AccessToken, string? RefreshToken, string? IdToken);

/// <summary>A step of a flow answered something other than what a browser or client expects.</summary>
public sealed class FlowException(string message) : Exception(message);

/// <summary>
/// The protocol flows as a browser and a client perform them over HTTP, on one <see cref="Http1Connection"/> (the load
/// generator's worker's own): every answer is checked as a browser or a client would, and each sign-in has a cookie jar
/// of its own, a new browser each time.
/// </summary>
public static class OidcFlows
{
    /// <summary>An HttpClient for the tool's own calls outside the load (seeding, checks): not the generator's path.</summary>
    public static HttpClient CreateClient(string baseUrl, int maxConnections) =>
        new(new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = new Uri(baseUrl),
            Timeout = TimeSpan.FromSeconds(60),
        };

    public static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes(
            Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(secret))));

    /// <summary>
    /// The whole authorization code + PKCE sign-in of a new browser: authorize, sign-in page, form post
    /// with its antiforgery token, redirect back to authorize (unless the form post answers with the code), code at the
    /// redirect URI, token request. Returns the tokens; <paramref name="onRequest"/> counts the requests made.
    /// </summary>
    public static TokenSet SignIn(Http1Connection http, ClientInfo client, string userName, string password, Action? onRequest = null)
    {
        var jar = new CookieJar();
        var verifier = RandomUrlSafe(32);
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var state = RandomUrlSafe(16);
        var nonce = RandomUrlSafe(16);
        var authorize = "/connect/authorize?" + Query(
            ("client_id", client.ClientId), ("redirect_uri", client.RedirectUri), ("response_type", "code"),
            ("scope", client.Scope), ("state", state), ("nonce", nonce),
            ("code_challenge", challenge), ("code_challenge_method", "S256"));

        // 1. authorize: not signed in, so a redirect to the sign-in page.
        var loginUrl = ExpectRedirect(http.Start("GET", authorize, jar), onRequest);
        if (!loginUrl.StartsWith("/Account/Login", StringComparison.OrdinalIgnoreCase))
        {
            throw new FlowException("authorize did not redirect to the sign-in page: " + loginUrl);
        }

        // 2. the sign-in page, with its antiforgery token and cookie.
        onRequest?.Invoke();
        if (http.Start("GET", loginUrl, jar).Send() != 200)
        {
            throw new FlowException($"sign-in page: {http.Status}");
        }

        var antiforgery = AntiforgeryToken(http.Body) ?? throw new FlowException("no antiforgery token on the sign-in page");
        var returnUrl = loginUrl.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 && QueryValue(loginUrl[(q + 1)..], "ReturnUrl") is { } back
            ? back : throw new FlowException("the sign-in page's URL has no ReturnUrl: " + loginUrl);

        // 3. the form post: a redirect back to the authorize request with the session cookie, or (where the server
        // answers the authorization request itself on a successful sign-in) straight to the client with the code.
        var next = ExpectRedirect(http.Start("POST", loginUrl, jar)
            .Form("Input.SignInName", userName)
            .Form("Input.Password", password)
            .Form("__RequestVerificationToken", antiforgery)
            .Form("ReturnUrl", returnUrl), onRequest);
        var callback = next;
        if (next.StartsWith("/connect/authorize", StringComparison.Ordinal))
        {
            // 4. authorize again, signed in: the code at the redirect URI.
            callback = ExpectRedirect(http.Start("GET", next, jar), onRequest);
        }
        else if (!next.StartsWith(client.RedirectUri + "?", StringComparison.Ordinal))
        {
            throw new FlowException("the sign-in did not return to authorize or to the client: " + next);
        }

        if (!callback.StartsWith(client.RedirectUri + "?", StringComparison.Ordinal))
        {
            throw new FlowException("the sign-in did not end at the client's redirect URI: " + callback);
        }

        var query = callback[(client.RedirectUri.Length + 1)..];
        var code = QueryValue(query, "code");
        if (QueryValue(query, "state") != state || string.IsNullOrEmpty(code))
        {
            throw new FlowException("the callback has no code or a wrong state: " + callback);
        }

        // 5. the token request: code + PKCE verifier, client_secret_basic.
        return Token(http, client, onRequest,
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.RedirectUri), ("code_verifier", verifier));
    }

    public static TokenSet Refresh(Http1Connection http, ClientInfo client, string refreshToken) =>
        Token(http, client, null, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    /// <summary>A token request with client_secret_basic (RFC 6749 section 2.3.1); the answer must be 200 with an access_token.</summary>
    public static TokenSet Token(Http1Connection http, ClientInfo client, Action? onRequest, params (string Name, string Value)[] form)
    {
        var request = http.Start("POST", "/connect/token").Header(client.AuthorizationLine);
        foreach (var (name, value) in form)
        {
            request.Form(name, value);
        }

        onRequest?.Invoke();
        if (request.Send() != 200)
        {
            throw new FlowException($"token endpoint: {http.Status} {Truncate(http.BodyText)}");
        }

        string? access = null, refresh = null, id = null;
        var json = new Utf8JsonReader(http.Body);
        json.Read();
        while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
        {
            var name = json.ValueSpan;
            json.Read();
            if (json.TokenType == JsonTokenType.String && (name.SequenceEqual("access_token"u8) || name.SequenceEqual("refresh_token"u8) || name.SequenceEqual("id_token"u8)))
            {
                var value = json.GetString();
                if (name[0] == (byte)'a')
                {
                    access = value;
                }
                else if (name[0] == (byte)'r')
                {
                    refresh = value;
                }
                else
                {
                    id = value;
                }
            }
            else
            {
                json.Skip();
            }
        }

        return new TokenSet(access ?? throw new FlowException("the token answer has no access_token: " + Truncate(http.BodyText)), refresh, id);
    }

    /// <summary>The redirect's target (a path when it names the server itself); anything but a 3xx with Location fails the flow.</summary>
    private static string ExpectRedirect(Http1Connection http, Action? onRequest)
    {
        onRequest?.Invoke();
        var status = http.Send();
        if (status is < 300 or >= 400 || http.Location is not { } location)
        {
            throw new FlowException($"expected a redirect, got {status} {Truncate(http.BodyText)}");
        }

        return location.StartsWith(http.BaseAuthority + "/", StringComparison.OrdinalIgnoreCase) ? location[http.BaseAuthority.Length..] : location;
    }

    /// <summary>A query parameter's value (the first), decoded as QueryHelpers.ParseQuery does; null when absent.</summary>
    public static string? QueryValue(string query, string name)
    {
        foreach (var part in query.Split('&'))
        {
            var eq = part.IndexOf('=');
            if (eq == name.Length && part.StartsWith(name, StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(part[(eq + 1)..].Replace('+', ' '));
            }
        }

        return null;
    }

    public static string Query(params (string Name, string Value)[] parameters) =>
        string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Name) + "=" + Uri.EscapeDataString(p.Value)));

    public static string RandomUrlSafe(int bytes) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    /// <summary>
    /// The antiforgery token of the sign-in form: one ordinal search in the page's bytes for the hidden field (the first
    /// form's, as a browser would post it) rather than a regular expression over a string of the whole page.
    /// </summary>
    public static string? AntiforgeryToken(ReadOnlySpan<byte> html)
    {
        var start = html.IndexOf("name=\"__RequestVerificationToken\" type=\"hidden\" value=\""u8);
        if (start < 0)
        {
            return null;
        }

        var rest = html[(start + "name=\"__RequestVerificationToken\" type=\"hidden\" value=\""u8.Length)..];
        var end = rest.IndexOf((byte)'"');
        return end > 0 ? WebUtility.HtmlDecode(Encoding.UTF8.GetString(rest[..end])) : null;
    }
}
