using System.Net;
using System.Text.RegularExpressions;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// The sign-in page as a browser uses it: GET /Account/Login (antiforgery cookie and form token), then
/// POST the form with the same cookies.
/// </summary>
public sealed partial class LoginForm(IdentityHubServer server)
{
    public const string SessionCookie = "ih.session";

    public CookieContainer Cookies { get; } = new();

    public sealed record Attempt(HttpStatusCode Status, Uri? Location, string Body, string? ErrorText, bool SessionCookieIssued);

    /// <summary>GETs the sign-in page and returns its HTML.</summary>
    public async Task<(HttpStatusCode Status, string Html)> GetPageAsync(string path = "/Account/Login", string? acceptLanguage = null)
    {
        using var http = CreateClient(acceptLanguage);
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Loads the form and posts the credentials with the form's antiforgery token.</summary>
    public async Task<Attempt> SignInAsync(string signInName, string password)
    {
        var (status, html) = await GetPageAsync();
        if (status != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"The sign-in page answered {(int)status}.");
        }

        return await PostAsync(new Dictionary<string, string>
        {
            ["Input.SignInName"] = signInName,
            ["Input.Password"] = password,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
        });
    }

    public async Task<Attempt> PostAsync(Dictionary<string, string> form)
    {
        using var http = CreateClient(null);
        using var response = await http.PostAsync("/Account/Login", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        var error = ErrorPattern().Match(body);
        var session = Cookies.GetCookies(server.BaseAddress).Any(c => c.Name == SessionCookie && !c.Expired);
        return new Attempt(response.StatusCode, response.Headers.Location, body,
            error.Success ? WebUtility.HtmlDecode(error.Groups[1].Value).Trim() : null, session);
    }

    /// <summary>The home page with this browser's cookies: says who is signed in.</summary>
    public async Task<string> HomePageAsync()
    {
        using var http = CreateClient(null);
        return await http.GetStringAsync("/");
    }

    private HttpClient CreateClient(string? acceptLanguage)
    {
        var http = server.CreateHttpClient(followRedirects: false, cookies: Cookies);
        if (acceptLanguage is not null)
        {
            http.DefaultRequestHeaders.AcceptLanguage.ParseAdd(acceptLanguage);
        }

        return http;
    }

    [GeneratedRegex("id=\"login-error\">([^<]*)<")]
    private static partial Regex ErrorPattern();
}
