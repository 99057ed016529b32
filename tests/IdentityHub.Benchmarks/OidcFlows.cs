using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IdentityHub.Benchmarks;

/// <summary>A registered client as the load needs it.</summary>
public sealed record ClientInfo(string ClientId, string ClientSecret, string RedirectUri, string Scope);

public sealed record TokenSet(string AccessToken, string? RefreshToken, string? IdToken);

/// <summary>A step of a flow answered something other than what a browser or client expects.</summary>
public sealed class FlowException(string message) : Exception(message);

/// <summary>
/// The protocol flows as a browser and a client perform them over HTTP. Cookies are kept per flow in a
/// small jar (the shared handler does not keep cookies), so that many flows share pooled connections.
/// </summary>
public static class OidcFlows
{
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
    /// redirect URI, token request.
    /// Returns the tokens; <paramref name="httpRequests"/> counts the requests made.
    /// </summary>
    public static async Task<TokenSet> SignInAsync(HttpClient http, ClientInfo client, string userName, string password,
        Action? onRequest = null, CancellationToken cancellationToken = default)
    {
        var jar = new Dictionary<string, string>(StringComparer.Ordinal);
        var verifier = RandomUrlSafe(32);
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var state = RandomUrlSafe(16);
        var nonce = RandomUrlSafe(16);
        var authorize = "/connect/authorize?" + Query(
            ("client_id", client.ClientId), ("redirect_uri", client.RedirectUri), ("response_type", "code"),
            ("scope", client.Scope), ("state", state), ("nonce", nonce),
            ("code_challenge", challenge), ("code_challenge_method", "S256"));

        // 1. authorize: not signed in, so a redirect to the sign-in page.
        var loginUrl = await ExpectRedirectAsync(http, HttpMethod.Get, authorize, null, jar, onRequest, cancellationToken);
        if (!loginUrl.StartsWith("/Account/Login", StringComparison.OrdinalIgnoreCase))
        {
            throw new FlowException("authorize did not redirect to the sign-in page: " + loginUrl);
        }

        // 2. the sign-in page, with its antiforgery token and cookie.
        string html;
        using (var page = await SendAsync(http, HttpMethod.Get, loginUrl, null, jar, onRequest, cancellationToken))
        {
            html = await page.Content.ReadAsStringAsync(cancellationToken);
            if (page.StatusCode != HttpStatusCode.OK)
            {
                throw new FlowException($"sign-in page: {(int)page.StatusCode}");
            }
        }

        var antiforgery = AntiforgeryToken(html) ?? throw new FlowException("no antiforgery token on the sign-in page");

        var returnUrl = Uri.UnescapeDataString(loginUrl[(loginUrl.IndexOf("ReturnUrl=", StringComparison.Ordinal) + "ReturnUrl=".Length)..]);

        // 3. the form post: a redirect back to the authorize request, with the session cookie; or, when the server answers
        //    the authorization itself (Accounts:AnswerAuthorizeAfterSignIn), the code at the redirect URI (no step 4).
        var form = new FormUrlEncodedContent(
        [
            KeyValuePair.Create("Input.SignInName", userName),
            KeyValuePair.Create("Input.Password", password),
            KeyValuePair.Create("__RequestVerificationToken", antiforgery),
            KeyValuePair.Create("ReturnUrl", returnUrl),
        ]);
        var callback = await ExpectRedirectAsync(http, HttpMethod.Post, loginUrl, form, jar, onRequest, cancellationToken);
        if (callback.StartsWith("/connect/authorize", StringComparison.Ordinal))
        {
            // 4. authorize again, signed in: the code at the redirect URI.
            callback = await ExpectRedirectAsync(http, HttpMethod.Get, callback, null, jar, onRequest, cancellationToken);
        }

        if (!callback.StartsWith(client.RedirectUri + "?", StringComparison.Ordinal))
        {
            throw new FlowException("the sign-in did not end at the client's redirect URI: " + callback);
        }

        var parameters = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(callback).Query);
        if (parameters["state"] != state || string.IsNullOrEmpty(parameters["code"]))
        {
            throw new FlowException("the callback has no code or a wrong state: " + callback);
        }

        // 5. the token request: code + PKCE verifier, client_secret_basic.
        return await TokenAsync(http, client, onRequest, cancellationToken,
            ("grant_type", "authorization_code"), ("code", parameters["code"].ToString()),
            ("redirect_uri", client.RedirectUri), ("code_verifier", verifier));
    }

    public static Task<TokenSet> RefreshAsync(HttpClient http, ClientInfo client, string refreshToken, CancellationToken cancellationToken = default) =>
        TokenAsync(http, client, null, cancellationToken, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    public static async Task<TokenSet> TokenAsync(HttpClient http, ClientInfo client, Action? onRequest, CancellationToken cancellationToken,
        params (string Name, string Value)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(form.Select(p => KeyValuePair.Create(p.Name, p.Value))),
        };
        request.Headers.Authorization = Basic(client.ClientId, client.ClientSecret);
        onRequest?.Invoke();
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new FlowException($"token endpoint: {(int)response.StatusCode} {Truncate(body)}");
        }

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return new TokenSet(
            root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out var r) ? r.GetString() : null,
            root.TryGetProperty("id_token", out var i) ? i.GetString() : null);
    }

    private static async Task<string> ExpectRedirectAsync(HttpClient http, HttpMethod method, string url, HttpContent? content,
        Dictionary<string, string> jar, Action? onRequest, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(http, method, url, content, jar, onRequest, cancellationToken);
        if ((int)response.StatusCode is < 300 or >= 400 || response.Headers.Location is null)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new FlowException($"{method} {url.Split('?')[0]}: expected a redirect, got {(int)response.StatusCode} {Truncate(body)}");
        }

        var location = response.Headers.Location;
        if (location.IsAbsoluteUri && location.Authority == http.BaseAddress!.Authority)
        {
            return location.PathAndQuery;
        }

        return location.OriginalString;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string url, HttpContent? content,
        Dictionary<string, string> jar, Action? onRequest, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (jar.Count > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", jar.Select(c => c.Key + "=" + c.Value)));
        }

        onRequest?.Invoke();
        var response = await http.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            foreach (var cookie in cookies)
            {
                var end = cookie.IndexOf(';', StringComparison.Ordinal);
                var pair = end < 0 ? cookie : cookie[..end];
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }

                var name = pair[..eq].Trim();
                var value = pair[(eq + 1)..].Trim();
                var expired = cookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase);
                if (value.Length == 0 || expired)
                {
                    jar.Remove(name);
                }
                else
                {
                    jar[name] = value;
                }
            }
        }

        return response;
    }

    public static string Query(params (string Name, string Value)[] parameters) =>
        string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Name) + "=" + Uri.EscapeDataString(p.Value)));

    public static string RandomUrlSafe(int bytes) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    private const string AntiforgeryMarker = "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"";

    /// <summary>
    /// The antiforgery token of the sign-in form: one ordinal search for the hidden field (the first form's, as a
    /// browser would post it) rather than a regular expression over the whole page, so that the generator stays cheap.
    /// </summary>
    public static string? AntiforgeryToken(string html)
    {
        var start = html.IndexOf(AntiforgeryMarker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += AntiforgeryMarker.Length;
        var end = html.IndexOf('"', start);
        return end > start ? WebUtility.HtmlDecode(html[start..end]) : null;
    }
}
