using System.Net;
using System.Text.RegularExpressions;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// Walks the authorization endpoint as a browser would, over HTTP: follow redirects to the sign-in
/// page, read its antiforgery token, post the credentials, follow redirects back until the server
/// redirects to the client's redirect_uri (or shows an error page).
/// </summary>
public sealed partial class BrowserlessSignIn(IdentityHubServer server)
{
    public CookieContainer Cookies { get; } = new();

    /// <summary>The result of an authorize request: the client callback URL, or the page the browser stopped on.</summary>
    public sealed record Outcome(Uri? Callback, HttpStatusCode FinalStatus, string? FinalBody, Uri LastUrl);

    /// <summary>Follows the authorize URL; if a sign-in page appears and credentials are given, signs in.</summary>
    public async Task<Outcome> AuthorizeAsync(string authorizeUrl, string? signInName = null, string? password = null, string callbackPrefix = "")
    {
        using var http = server.CreateHttpClient(followRedirects: false, cookies: Cookies);
        var url = new Uri(authorizeUrl, UriKind.RelativeOrAbsolute);
        if (!url.IsAbsoluteUri)
        {
            url = new Uri(server.BaseAddress, url);
        }

        var signedIn = false;
        for (var hop = 0; hop < 20; hop++)
        {
            if (!IsServer(url))
            {
                return new Outcome(url, HttpStatusCode.Redirect, null, url);
            }

            using var response = await http.GetAsync(url);
            if (IsRedirect(response.StatusCode))
            {
                url = new Uri(url, response.Headers.Location!);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && url.AbsolutePath.Equals("/Account/Login", StringComparison.OrdinalIgnoreCase)
                && signInName is not null && !signedIn)
            {
                signedIn = true;
                using var post = await http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["Input.SignInName"] = signInName,
                    ["Input.Password"] = password ?? "",
                    ["__RequestVerificationToken"] = AntiforgeryToken(body),
                    ["ReturnUrl"] = System.Web.HttpUtility.ParseQueryString(url.Query)["ReturnUrl"] ?? "",
                }));
                if (!IsRedirect(post.StatusCode))
                {
                    return new Outcome(null, post.StatusCode, await post.Content.ReadAsStringAsync(), url);
                }

                url = new Uri(url, post.Headers.Location!);
                continue;
            }

            return new Outcome(null, response.StatusCode, body, url);
        }

        throw new InvalidOperationException("Too many redirects from " + authorizeUrl);
    }

    public static string AntiforgeryToken(string html)
    {
        var match = AntiforgeryPattern().Match(html);
        if (!match.Success)
        {
            throw new InvalidOperationException("No antiforgery token on the page.");
        }

        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private bool IsServer(Uri url) => url.Authority == server.BaseAddress.Authority && url.Scheme == server.BaseAddress.Scheme;

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400;

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryPattern();
}
