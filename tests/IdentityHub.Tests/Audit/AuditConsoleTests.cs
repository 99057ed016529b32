using System.Net;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>The auditors' screens (zh-CN by default, English on request): search, statistics chart, integrity check.</summary>
public sealed class AuditConsoleTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    [Fact]
    public async Task Search_ByUserName_ShowsOnlyThatPersonsEventsAndIsRecorded()
    {
        var a = await fixture.NewCitizenAsync();
        var b = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), a.UserName, "Wrong-Passw0rd");
        await fixture.SignInAsync(new CookieContainer(), b.UserName, "Wrong-Passw0rd");
        var auditor = await fixture.AuditorAsync();

        var html = await auditor.GetStringAsync("/Audit?UserName=" + a.UserName);

        Assert.Contains("审计记录", html, StringComparison.Ordinal);
        Assert.Contains(a.Id, html, StringComparison.Ordinal);
        Assert.DoesNotContain(b.Id, html, StringComparison.Ordinal);
        Assert.Contains("format=csv", html, StringComparison.Ordinal);
        var recorded = await fixture.EventsAsync("type=audit.query");
        Assert.Contains(recorded, e => e.GetProperty("data").GetString()!.Contains(a.UserName, StringComparison.Ordinal)
                                       && e.GetProperty("data").GetString()!.Contains("console.events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Search_InEnglish_ShowsEnglishLabels()
    {
        var auditor = await fixture.AuditorAsync();

        var html = await auditor.GetStringAsync("/Audit?culture=en&Type=signin");

        Assert.Contains("Audit history", html, StringComparison.Ordinal);
        Assert.Contains("Event type", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Statistics_ForADepartment_DrawsTheChartAndCounts()
    {
        var (department, clientId, _) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, RegistryFixture.Password, returnUrl: AuditorQueryTests.ReturnUrl(clientId));
        var auditor = await fixture.AuditorAsync();

        var html = await auditor.GetStringAsync("/Audit/Statistics?Department=" + department);

        Assert.Contains("<svg id=\"stats-chart\"", html, StringComparison.Ordinal);
        Assert.Contains("class=\"bar-succeeded\"", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"succeeded\">1</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_Button_ReportsTheChainIntact()
    {
        var auditor = await fixture.AuditorAsync();
        var page = await auditor.GetStringAsync("/Audit/Verify");

        using var response = await auditor.PostAsync("/Audit/Verify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
        }));

        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("id=\"verify-result\" class=\"notice\"", html, StringComparison.Ordinal);
        Assert.Contains(AuditFixture.NodeId, html, StringComparison.Ordinal);
    }
}
