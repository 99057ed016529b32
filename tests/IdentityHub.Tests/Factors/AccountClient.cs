using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Factors;

/// <summary>
/// One browser over plain HTTP: its own cookies, English pages, redirects followed while they stay on
/// the server. A form is posted to the page it was read from, with that page's antiforgery token.
/// </summary>
public sealed partial class AccountClient(IdentityHubServer server) : IDisposable
{
    private readonly HttpClient _http = CreateClient(server);

    /// <summary>A page the browser stopped on, or the client callback it was sent to (<see cref="Callback"/>).</summary>
    public sealed record Page(HttpStatusCode Status, string Body, Uri Url, Uri? Callback, HttpResponseMessage Response)
    {
        public string Path => Url.AbsolutePath;

        /// <summary>The text of the element with this id, tags stripped, or null.</summary>
        public string? Text(string id)
        {
            var match = Regex.Match(Body, $"<(\\w+)[^>]*\\bid=\"{Regex.Escape(id)}\"[^>]*>(.*?)</\\1>", RegexOptions.Singleline);
            return match.Success ? WebUtility.HtmlDecode(Regex.Replace(match.Groups[2].Value, "<[^>]+>", " ")).Trim() : null;
        }

        public bool Has(string id) => Body.Contains($"id=\"{id}\"", StringComparison.Ordinal);
    }

    public async Task<Page> GetAsync(string pathOrUrl) => await FollowAsync(await _http.GetAsync(Absolute(pathOrUrl)));

    /// <summary>The kinds of the security messages the account's message centre lists, newest first.</summary>
    public async Task<string[]> MessageKindsAsync()
    {
        var page = await GetAsync("/Account/Manage/Messages");
        return System.Text.RegularExpressions.Regex.Matches(page.Body, "<li data-kind=\"(\\w+)\"").Select(m => m.Groups[1].Value).ToArray();
    }

    /// <summary>Posts a form of <paramref name="page"/> (to its own URL, with <paramref name="handler"/>).</summary>
    public async Task<Page> SubmitAsync(Page page, string? handler, Dictionary<string, string> fields)
    {
        var form = new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page.Body) };
        // The page's own URL (its ReturnUrl binds from the query), without the handler that produced it.
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(page.Url.Query)
            .Where(p => p.Key != "handler")
            .Select(p => KeyValuePair.Create(p.Key, p.Value.ToString()))
            .ToList();
        if (handler is not null)
        {
            query.Add(KeyValuePair.Create("handler", handler));
        }

        var url = page.Url.GetLeftPart(UriPartial.Path) + Microsoft.AspNetCore.Http.QueryString.Create(query!);

        return await FollowAsync(await _http.PostAsync(url, new FormUrlEncodedContent(form)));
    }

    /// <summary>A form post without an antiforgery token: the status only.</summary>
    public async Task<HttpStatusCode> RawPostAsync(string path)
    {
        using var response = await _http.PostAsync(Absolute(path), new FormUrlEncodedContent([]));
        return response.StatusCode;
    }

    /// <summary>Opens <paramref name="path"/> and posts its form.</summary>
    public async Task<Page> PostAsync(string path, string? handler, Dictionary<string, string> fields) =>
        await SubmitAsync(await GetAsync(path), handler, fields);

    /// <summary>Signs in with a password on the server's own sign-in page (no department app).</summary>
    public async Task<Page> SignInAsync(string userName, string password) =>
        await PostAsync("/Account/Login", null, new() { ["Input.SignInName"] = userName, ["Input.Password"] = password });

    /// <summary>The newest SMS code sent to <paramref name="phone"/>, read from the development outbox.</summary>
    public async Task<string> LatestSmsCodeAsync(string phone)
    {
        var json = await _http.GetStringAsync("/dev/sms?phone=" + phone);
        var messages = System.Text.Json.JsonDocument.Parse(json).RootElement;
        Assert.True(messages.GetArrayLength() > 0, "No SMS was sent to " + phone);
        return CodePattern().Match(messages[0].GetProperty("text").GetString()!).Value;
    }

    /// <summary>The texts sent to <paramref name="phone"/>, newest first.</summary>
    public async Task<string[]> SmsTextsAsync(string phone) =>
        System.Text.Json.JsonDocument.Parse(await _http.GetStringAsync("/dev/sms?phone=" + phone)).RootElement
            .EnumerateArray().Select(m => m.GetProperty("text").GetString()!).ToArray();

    public async Task<int> SmsCountAsync(string phone) =>
        System.Text.Json.JsonDocument.Parse(await _http.GetStringAsync("/dev/sms?phone=" + phone)).RootElement.GetArrayLength();

    private async Task<Page> FollowAsync(HttpResponseMessage response)
    {
        var url = response.RequestMessage!.RequestUri!;
        for (var hop = 0; hop < 20 && (int)response.StatusCode is >= 300 and < 400; hop++)
        {
            url = new Uri(url, response.Headers.Location!);
            if (url.Authority != server.BaseAddress.Authority)
            {
                return new Page(response.StatusCode, "", url, url, response);
            }

            response = await _http.GetAsync(url);
        }

        return new Page(response.StatusCode, await response.Content.ReadAsStringAsync(), url, null, response);
    }

    private Uri Absolute(string pathOrUrl) => new(server.BaseAddress, pathOrUrl);

    private static HttpClient CreateClient(IdentityHubServer server)
    {
        var http = server.CreateHttpClient(followRedirects: false, cookies: new CookieContainer());
        http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");
        return http;
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex(@"\b[0-9]{6}\b")]
    private static partial Regex CodePattern();
}
