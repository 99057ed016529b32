using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Server.Oidc;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// The console's token signing algorithm selects: the server's default, RS256 and ES256 as available, a choice stored and
/// shown on the client's page, refusals in the person's language. Over real HTTP with the forms' antiforgery tokens.
/// </summary>
public sealed partial class ConsoleSigningTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task ConsoleRegister_Es256_StoredAndShownOnTheClientPage_EditBackToDefault()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var register = await GetPageAsync(console, "/Admin/Clients/Register");
        Assert.Contains("ID 令牌签名算法", register, StringComparison.Ordinal);
        Assert.Contains("访问令牌签名算法", register, StringComparison.Ordinal);
        Assert.Contains("默认（RS256）", register, StringComparison.Ordinal);
        Assert.Equal(["", "RS256", "ES256"], Options(register, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal(["", "RS256", "ES256"], Options(register, "Input_AccessTokenSignedResponseAlg"));

        var clientId = RegistryFixture.Unique("ces");
        var created = await PostAsync(console, "/Admin/Clients/Register", register, Form(clientId, "web", "ES256", "ES256"));
        Assert.Contains("id=\"client-created\"", created, StringComparison.Ordinal);
        Assert.Equal(new ClientSigning("ES256", "ES256"), await StoredApplication.SigningAsync(fixture, clientId));

        var edit = await GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.Equal("ES256", Selected(edit, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal("ES256", Selected(edit, "Input_AccessTokenSignedResponseAlg"));

        var saved = await PostAsync(console, $"/Admin/Clients/Edit?id={clientId}&handler=Save", edit, Form(clientId, "web", "ES256", ""));
        Assert.DoesNotContain("id=\"console-errors\"", saved, StringComparison.Ordinal);
        Assert.Equal(new ClientSigning("ES256", null), await StoredApplication.SigningAsync(fixture, clientId));
        var after = await GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.Equal("ES256", Selected(after, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal("", Selected(after, "Input_AccessTokenSignedResponseAlg"));

        await ConsoleLocalizationTests.SwitchToEnglishAsync(console);
        var english = await GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.Contains("ID token signing algorithm", english, StringComparison.Ordinal);
        Assert.Contains("Access token signing algorithm", english, StringComparison.Ordinal);
        Assert.Contains("Default (RS256)", english, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsoleRegister_UnknownAlgorithmAndIdTokenForMachine_ChineseByDefaultEnglishWithCultureCookie()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var form = Form(RegistryFixture.Unique("cbad"), "machine", "RS256", "PS256");

        var chinese = await ConsoleLocalizationTests.PostRegisterAsync(console, form);
        Assert.Contains("访问令牌签名算法：必须为以下签名算法之一（区分大小写）：RS256, ES256。", chinese, StringComparison.Ordinal);
        Assert.Contains("ID 令牌签名算法：只有用于用户登录（授权码模式 authorization_code）的应用才会收到 ID 令牌。", chinese, StringComparison.Ordinal);
        Assert.DoesNotContain("case-sensitive", chinese, StringComparison.Ordinal);

        await ConsoleLocalizationTests.SwitchToEnglishAsync(console);
        var english = await ConsoleLocalizationTests.PostRegisterAsync(console, form);
        Assert.Contains("Access token signing algorithm: Must be one of these signing algorithms (case-sensitive): RS256, ES256.", english, StringComparison.Ordinal);
        Assert.Contains("ID token signing algorithm: Only clients that sign people in (authorization_code) receive ID tokens.", english, StringComparison.Ordinal);
        Assert.DoesNotContain("区分大小写", english, StringComparison.Ordinal);
    }

    /// <summary>The register/edit form's fields for a client (scopes openid).</summary>
    internal static Dictionary<string, string> Form(string clientId, string kind, string idToken, string accessToken)
    {
        var form = new Dictionary<string, string>
        {
            ["Input.ClientId"] = clientId,
            ["Input.DisplayName"] = "签名算法 " + clientId,
            ["Input.Kind"] = kind,
            ["Input.Scopes"] = "openid",
            ["Input.IdTokenSignedResponseAlg"] = idToken,
            ["Input.AccessTokenSignedResponseAlg"] = accessToken,
        };
        if (kind != "machine")
        {
            form["Input.RedirectUris"] = "https://app.example.gov.cn/" + clientId + "/callback";
        }

        return form;
    }

    internal static async Task<string> GetPageAsync(HttpClient console, string url)
    {
        using var page = await console.GetAsync(url);
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"{(int)page.StatusCode}: {html}");
        return WebUtility.HtmlDecode(html);
    }

    /// <summary>Posts <paramref name="form"/> with the antiforgery token of <paramref name="page"/>; returns the answer page (decoded).</summary>
    internal static async Task<string> PostAsync(HttpClient console, string url, string page, Dictionary<string, string> form)
    {
        var fields = new Dictionary<string, string>(form) { ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page) };
        using var posted = await console.PostAsync(url, new FormUrlEncodedContent(fields));
        var answer = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == HttpStatusCode.OK, $"{(int)posted.StatusCode}: {answer}");
        return WebUtility.HtmlDecode(answer);
    }

    /// <summary>The option values of the select with this id, in order.</summary>
    internal static string[] Options(string html, string id) =>
        OptionPattern().Matches(SelectBlock(html, id)).Select(m => m.Groups["value"].Value).ToArray();

    /// <summary>The value of the selected option of the select with this id.</summary>
    internal static string Selected(string html, string id) =>
        OptionPattern().Matches(SelectBlock(html, id)).Single(m => m.Groups["selected"].Success).Groups["value"].Value;

    private static string SelectBlock(string html, string id)
    {
        var start = html.IndexOf($"<select id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no select {id}");
        return html[start..html.IndexOf("</select>", start, StringComparison.Ordinal)];
    }

    [GeneratedRegex("<option value=\"(?<value>[^\"]*)\"(?<selected> selected=\"selected\")?>", RegexOptions.CultureInvariant)]
    private static partial Regex OptionPattern();
}
