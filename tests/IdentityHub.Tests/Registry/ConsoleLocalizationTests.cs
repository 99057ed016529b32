using System.Net;
using System.Net.Http.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// The console shows the registry's validation, conflict and permission messages in the person's language
/// (zh-CN by default, English through the language link), while the API keeps English problem details.
/// Over real HTTP, with the forms' antiforgery tokens.
/// </summary>
public sealed class ConsoleLocalizationTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task ConsoleRegister_HttpRedirectUriOnPublicHost_ChineseByDefaultEnglishWithCultureCookie()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var form = new Dictionary<string, string>
        {
            ["Input.ClientId"] = RegistryFixture.Unique("http"),
            ["Input.DisplayName"] = "明文回调的应用",
            ["Input.Kind"] = "web",
            ["Input.RedirectUris"] = "https://app.example.gov.cn/ok\nhttp://app.example.gov.cn/callback",
            ["Input.Scopes"] = "openid",
        };

        var chinese = await PostRegisterAsync(console, form);
        Assert.Contains("回调地址（第 2 行）：必须使用 https（http 仅限本机回环地址；自定义协议仅限公开的原生应用）。", chinese, StringComparison.Ordinal);
        Assert.DoesNotContain("Must use https", chinese, StringComparison.Ordinal);

        await SwitchToEnglishAsync(console);
        var english = await PostRegisterAsync(console, form);
        Assert.Contains("Redirect URI (line 2): Must use https (http only on a loopback host; a private-use scheme only for public native apps).",
            english, StringComparison.Ordinal);
        Assert.DoesNotContain("必须使用 https", english, StringComparison.Ordinal);

        // The API answers the same request in English, whatever language the caller prefers.
        using var api = await fixture.PlatformClientAsync();
        api.DefaultRequestHeaders.AcceptLanguage.ParseAdd("zh-CN");
        using var response = await api.PostAsJsonAsync("/api/admin/clients", new
        {
            clientId = form["Input.ClientId"], departmentCode = department, displayName = "x", kind = "web",
            redirectUris = new[] { "http://app.example.gov.cn/callback" }, scopes = new[] { "openid" },
        });
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.Equal("Must use https (http only on a loopback host; a private-use scheme only for public native apps).",
            problem.GetProperty("errors").GetProperty("redirectUris[0]")[0].GetString());
    }

    [Fact]
    public async Task ConsoleRegister_DuplicateClientId_ChineseByDefaultEnglishWithCultureCookie()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("dup");
        await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department));
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var form = new Dictionary<string, string>
        {
            ["Input.ClientId"] = clientId,
            ["Input.DisplayName"] = "重复的应用",
            ["Input.Kind"] = "machine",
        };

        var chinese = await PostRegisterAsync(console, form);
        Assert.Contains($"标识为“{clientId}”的应用已存在。", chinese, StringComparison.Ordinal);
        Assert.DoesNotContain("exists already", chinese, StringComparison.Ordinal);

        await SwitchToEnglishAsync(console);
        var english = await PostRegisterAsync(console, form);
        Assert.Contains($"A client with id \"{clientId}\" exists already.", english, StringComparison.Ordinal);
        Assert.DoesNotContain("已存在", english, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsolePolicy_DepartmentAdminBeyondCeiling_ForbiddenMessageInChinese()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("cap");
        await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department));
        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        using var page = await console.GetAsync($"/Admin/Clients/Policy?id={clientId}");
        var token = BrowserlessSignIn.AntiforgeryToken(await page.Content.ReadAsStringAsync());

        // The default ceiling does not release the ID number: a department administrator cannot widen to it.
        using var posted = await console.PostAsync($"/Admin/Clients/Policy?id={clientId}", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["claims[name]"] = "full",
            ["claims[id_number]"] = "masked",
            ["minimumAssuranceLevel"] = "1",
            ["__RequestVerificationToken"] = token,
        }));
        var html = WebUtility.HtmlDecode(await posted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Contains("部门管理员不能使数据发布策略超出部门上限：claims.id_number", html, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot widen", html, StringComparison.Ordinal);
    }

    /// <summary>Opens the console's registration form, posts it with its antiforgery token; returns the answer page (decoded).</summary>
    internal static async Task<string> PostRegisterAsync(HttpClient console, Dictionary<string, string> form)
    {
        using var page = await console.GetAsync("/Admin/Clients/Register");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var fields = new Dictionary<string, string>(form) { ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html) };
        using var posted = await console.PostAsync("/Admin/Clients/Register", new FormUrlEncodedContent(fields));
        var answer = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == HttpStatusCode.OK, $"{(int)posted.StatusCode}: {answer}");
        Assert.Contains("id=\"console-errors\"", answer, StringComparison.Ordinal);
        return WebUtility.HtmlDecode(answer);
    }

    internal static async Task SwitchToEnglishAsync(HttpClient console)
    {
        using var switched = await console.GetAsync("/culture?culture=en&returnUrl=" + Uri.EscapeDataString("/Admin/Clients/Register"));
        Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
    }
}
