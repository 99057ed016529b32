using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Server.Oidc;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// The console's "return an ID token with each refresh" checkbox: unticked by default, stored when ticked, shown ticked on the
/// client's page, cleared by unticking it (the hidden "false" the browser then posts alone), refused for a machine client in
/// the person's language. Over real HTTP with the forms' antiforgery tokens, posting what a browser posts.
/// </summary>
public sealed partial class ConsoleIdTokenOnRefreshTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task ConsoleRegister_Ticked_StoredAndShown_EditUntickedThenTickedAgain()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var register = await ConsoleSigningTests.GetPageAsync(console, "/Admin/Clients/Register");
        Assert.Contains("刷新令牌时同时返回 ID 令牌", register, StringComparison.Ordinal);
        Assert.False(Ticked(register));

        var clientId = RegistryFixture.Unique("cior");
        var created = await PostAsync(console, "/Admin/Clients/Register", register, Form(clientId, "web", ticked: true));
        Assert.Contains("id=\"client-created\"", created, StringComparison.Ordinal);
        Assert.True(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));

        var edit = await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.True(Ticked(edit));

        var saved = await PostAsync(console, $"/Admin/Clients/Edit?id={clientId}&handler=Save", edit, Form(clientId, "web", ticked: false));
        Assert.DoesNotContain("id=\"console-errors\"", saved, StringComparison.Ordinal);
        Assert.False(Ticked(saved));
        Assert.False(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
        var after = await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.False(Ticked(after));

        var again = await PostAsync(console, $"/Admin/Clients/Edit?id={clientId}&handler=Save", after, Form(clientId, "web", ticked: true));
        Assert.DoesNotContain("id=\"console-errors\"", again, StringComparison.Ordinal);
        Assert.True(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
        Assert.True(Ticked(await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}")));

        await ConsoleLocalizationTests.SwitchToEnglishAsync(console);
        var english = await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.Contains("Return an ID token with each refresh", english, StringComparison.Ordinal);
        Assert.True(Ticked(english));
    }

    [Fact]
    public async Task ConsoleRegister_NotTicked_NotStored()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var register = await ConsoleSigningTests.GetPageAsync(console, "/Admin/Clients/Register");
        var clientId = RegistryFixture.Unique("cion");
        var created = await PostAsync(console, "/Admin/Clients/Register", register, Form(clientId, "web", ticked: false));
        Assert.Contains("id=\"client-created\"", created, StringComparison.Ordinal);
        var settings = await StoredApplication.SettingsAsync(fixture, clientId);
        Assert.DoesNotContain(RefreshIdTokens.Setting, settings ?? "", StringComparison.Ordinal);
        Assert.False(Ticked(await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}")));
    }

    [Fact]
    public async Task ConsoleRegister_TickedForMachine_ChineseByDefaultEnglishWithCultureCookie_NothingStored()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var clientId = RegistryFixture.Unique("ciom");

        var register = await ConsoleSigningTests.GetPageAsync(console, "/Admin/Clients/Register");
        var chinese = await PostAsync(console, "/Admin/Clients/Register", register, Form(clientId, "machine", ticked: true));
        Assert.Contains("id=\"console-errors\"", chinese, StringComparison.Ordinal);
        Assert.Contains("刷新令牌时同时返回 ID 令牌：只有用于用户登录（授权码模式 authorization_code）的应用才会收到 ID 令牌。", chinese, StringComparison.Ordinal);
        Assert.DoesNotContain("Only clients that sign people in", chinese, StringComparison.Ordinal);
        // The form comes back as it was posted, the checkbox still ticked.
        Assert.True(Ticked(chinese));

        await ConsoleLocalizationTests.SwitchToEnglishAsync(console);
        register = await ConsoleSigningTests.GetPageAsync(console, "/Admin/Clients/Register");
        var english = await PostAsync(console, "/Admin/Clients/Register", register, Form(clientId, "machine", ticked: true));
        Assert.Contains("Return an ID token with each refresh: Only clients that sign people in (authorization_code) receive ID tokens.",
            english, StringComparison.Ordinal);
        Assert.DoesNotContain("只有用于用户登录", english, StringComparison.Ordinal);

        using var http = await fixture.PlatformClientAsync();
        using var absent = await http.GetAsync($"/api/admin/clients/{clientId}");
        await RegistryFixture.Expect(absent, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ConsoleEdit_WithoutAntiforgeryToken_Refused_NothingChanged()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("cioc");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        using var posted = await console.PostAsync($"/Admin/Clients/Edit?id={clientId}&handler=Save",
            new FormUrlEncodedContent(Form(clientId, "web", ticked: true)));
        Assert.Equal(HttpStatusCode.BadRequest, posted.StatusCode);
        Assert.False(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
    }

    /// <summary>
    /// The register/edit form's fields as a browser posts them: a ticked checkbox sends "true" before its hidden "false",
    /// an unticked one sends the hidden "false" alone.
    /// </summary>
    private static List<KeyValuePair<string, string>> Form(string clientId, string kind, bool ticked)
    {
        var form = ConsoleSigningTests.Form(clientId, kind, "", "").ToList();
        if (ticked)
        {
            form.Add(new("Input.IdTokenOnRefresh", "true"));
        }

        form.Add(new("Input.IdTokenOnRefresh", "false"));
        return form;
    }

    /// <summary>Posts <paramref name="form"/> with the antiforgery token of <paramref name="page"/>; returns the answer page (decoded).</summary>
    private static async Task<string> PostAsync(HttpClient console, string url, string page, List<KeyValuePair<string, string>> form)
    {
        var fields = new List<KeyValuePair<string, string>>(form) { new("__RequestVerificationToken", BrowserlessSignIn.AntiforgeryToken(page)) };
        using var posted = await console.PostAsync(url, new FormUrlEncodedContent(fields));
        var answer = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == HttpStatusCode.OK, $"{(int)posted.StatusCode}: {answer}");
        return WebUtility.HtmlDecode(answer);
    }

    /// <summary>Whether the page's checkbox is ticked (and its hidden "false" follows it).</summary>
    private static bool Ticked(string html)
    {
        var match = CheckboxPattern().Match(html);
        Assert.True(match.Success, "no checkbox Input_IdTokenOnRefresh");
        Assert.Contains("<input type=\"hidden\" name=\"Input.IdTokenOnRefresh\" value=\"false\" />", html[match.Index..], StringComparison.Ordinal);
        return match.Groups["checked"].Success;
    }

    [GeneratedRegex("<input type=\"checkbox\" id=\"Input_IdTokenOnRefresh\" name=\"Input.IdTokenOnRefresh\" value=\"true\"(?<checked> checked=\"checked\")? />",
        RegexOptions.CultureInvariant)]
    private static partial Regex CheckboxPattern();
}
