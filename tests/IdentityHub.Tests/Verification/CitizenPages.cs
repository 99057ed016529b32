using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Server.Factors.Sms;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Verification;

/// <summary>
/// A citizen's browser over plain HTTP (cookies, antiforgery tokens, redirects): registration with the SMS
/// code read from the development outbox, real-name verification, and the pages behind them.
/// </summary>
public sealed partial class CitizenPages(IdentityHubServer server)
{
    public CookieContainer Cookies { get; } = new();

    public sealed record Page(HttpStatusCode Status, Uri Url, string Html, Uri? Location)
    {
        /// <summary>The text of the element with this id, or null.</summary>
        public string? Text(string id)
        {
            var match = Regex.Match(Html, $"id=\"{Regex.Escape(id)}\"[^>]*>(.*?)</", RegexOptions.Singleline);
            return match.Success ? WebUtility.HtmlDecode(Regex.Replace(match.Groups[1].Value, "<[^>]+>", " ")).Trim() : null;
        }

        public string? Attribute(string id, string attribute)
        {
            var tag = Regex.Match(Html, $"<[^>]*\\bid=\"{Regex.Escape(id)}\"[^>]*>");
            var value = tag.Success ? Regex.Match(tag.Value, $"\\b{attribute}=\"([^\"]*)\"") : Match.Empty;
            return value.Success ? WebUtility.HtmlDecode(value.Groups[1].Value) : null;
        }
    }

    public HttpClient Client() => server.CreateHttpClient(followRedirects: false, cookies: Cookies);

    public async Task<Page> GetAsync(string path)
    {
        using var http = Client();
        using var response = await http.GetAsync(path);
        return await ReadAsync(response);
    }

    /// <summary>GETs <paramref name="page"/> for its antiforgery token, then posts the form to <paramref name="action"/>.</summary>
    public async Task<Page> PostAsync(string page, string action, Dictionary<string, string> form)
    {
        var get = await GetAsync(page);
        form["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(get.Html);
        using var http = Client();
        using var response = await http.PostAsync(action, new FormUrlEncodedContent(form));
        return await ReadAsync(response);
    }

    /// <summary>Registers with a mobile number proved by the SMS code; returns the page registration redirected to.</summary>
    public async Task<Page> RegisterAsync(string mobile, string password, string? returnUrl = null, Func<string, string>? code = null)
    {
        var query = returnUrl is null ? "" : "?ReturnUrl=" + Uri.EscapeDataString(returnUrl);
        var sent = await PostAsync("/Account/Register" + query, "/Account/Register?handler=SendCode" + query.Replace('?', '&'),
            new() { ["Input.Mobile"] = mobile });
        if (sent.Text("code-sent") is null)
        {
            throw new InvalidOperationException("No code was sent: " + sent.Text("register-error"));
        }

        var challenge = Regex.Match(sent.Html, "name=\"Input.ChallengeId\" value=\"([^\"]+)\"").Groups[1].Value;
        var smsCode = SmsCode(mobile);
        return await PostAsync("/Account/Register" + query, "/Account/Register?handler=Register" + query.Replace('?', '&'), new()
        {
            ["Input.Mobile"] = mobile,
            ["Input.ChallengeId"] = challenge,
            ["Input.Code"] = code?.Invoke(smsCode) ?? smsCode,
            ["Input.Password"] = password,
            ["Input.ConfirmPassword"] = password,
            ["ReturnUrl"] = returnUrl ?? "",
        });
    }

    /// <summary>The newest code the development outbox holds for the number.</summary>
    public string SmsCode(string mobile)
    {
        var outbox = server.Services.GetRequiredService<DevelopmentSmsSender>();
        var message = outbox.MessagesTo(mobile).FirstOrDefault() ?? throw new InvalidOperationException("No SMS to " + mobile);
        return SixDigits().Match(message.Text).Value;
    }

    /// <summary>Posts the verification form (with consent unless told otherwise).</summary>
    public Task<Page> VerifyAsync(string name, string idNumber, bool consent = true, string? returnUrl = null, int? required = null)
    {
        var query = QueryString(returnUrl, required);
        var form = new Dictionary<string, string> { ["Name"] = name, ["IdNumber"] = idNumber, ["ReturnUrl"] = returnUrl ?? "" };
        if (consent)
        {
            form["Consent"] = "true";
        }

        if (required is not null)
        {
            form["Required"] = required.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return PostAsync("/Account/Verify" + query, "/Account/Verify?handler=Verify", form);
    }

    public async Task SignInAsync(string signInName, string password)
    {
        var page = await PostAsync("/Account/Login", "/Account/Login", new()
        {
            ["Input.SignInName"] = signInName,
            ["Input.Password"] = password,
            ["ReturnUrl"] = "/",
        });
        Assert.True(page.Status == HttpStatusCode.Redirect, "Sign-in failed: " + page.Text("login-error"));
    }

    private static string QueryString(string? returnUrl, int? required)
    {
        var parts = new List<string>();
        if (returnUrl is not null)
        {
            parts.Add("ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        }

        if (required is not null)
        {
            parts.Add("required=" + required);
        }

        return parts.Count == 0 ? "" : "?" + string.Join("&", parts);
    }

    private async Task<Page> ReadAsync(HttpResponseMessage response)
    {
        var location = response.Headers.Location is { } l ? new Uri(server.BaseAddress, l) : null;
        return new Page(response.StatusCode, response.RequestMessage!.RequestUri!, await response.Content.ReadAsStringAsync(), location);
    }

    [GeneratedRegex(@"\b[0-9]{6}\b")]
    private static partial Regex SixDigits();
}
