using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.VerificationSimulator;

namespace IdentityHub.Tests.Verification;

/// <summary>Enterprises registered by their legal representative, agents authorised and revoked, sign-in acting for the enterprise.</summary>
public sealed class EnterpriseTests(JourneyFixture fixture) : IClassFixture<JourneyFixture>
{
    private const string Scope = "openid profile enterprise offline_access";

    /// <summary>A verified legal representative with a registered (verified) enterprise.</summary>
    private async Task<(CitizenPages Representative, string CreditCode, string EnterpriseId)> EnterpriseAsync(string representative = "欧阳锋")
    {
        var (pages, _, name, _) = await fixture.VerifiedCitizenAsync(representative);
        var code = TestIdentities.NewCreditCode();
        await fixture.Simulator.AddEnterpriseAsync(code, "白驼山贸易有限公司", name);
        var registered = await pages.PostAsync("/Account/Enterprises", "/Account/Enterprises?handler=Register",
            new() { ["CreditCode"] = code.ToLowerInvariant(), ["Name"] = "白驼山贸易有限公司" });
        Assert.Equal("Verified", Status(registered.Html, code));
        var id = Regex.Match(registered.Html, "/Account/Enterprises/Agents\\?id=([0-9a-f]+)").Groups[1].Value;
        return (pages, code, id);
    }

    private static string? Status(string html, string code) =>
        Regex.Match(html, $"data-credit-code=\"{code}\" data-role=\"[a-z_]+\" data-status=\"([A-Za-z]+)\"") is { Success: true } m ? m.Groups[1].Value : null;

    private async Task<CitizenPages.Page> GrantAsync(CitizenPages representative, string enterpriseId, string mobile, string name, int days = 30) =>
        await representative.PostAsync($"/Account/Enterprises/Agents?id={enterpriseId}", $"/Account/Enterprises/Agents?id={enterpriseId}&handler=Grant", new()
        {
            ["Mobile"] = mobile,
            ["AgentName"] = name,
            ["Expires"] = DateTime.UtcNow.AddDays(days).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        });

    [Fact]
    public async Task Register_RegistryConfirmsCodeNameAndRepresentative_VerifiedAndAudited()
    {
        var (_, code, _) = await EnterpriseAsync();

        var registered = Assert.Single(await fixture.AuditAsync("enterprise", code), e => e.GetProperty("eventType").GetString() == "enterprise.registered");
        Assert.Equal("Verified", JourneyFixture.After(registered).GetProperty("status").GetString());
        Assert.StartsWith("MR", JourneyFixture.After(registered).GetProperty("transactionId").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_SomeoneElseIsTheRepresentative_NotConfirmed()
    {
        var (pages, _, _, _) = await fixture.VerifiedCitizenAsync("段誉");
        var code = TestIdentities.NewCreditCode();
        await fixture.Simulator.AddEnterpriseAsync(code, "大理段氏有限公司", "段正淳");

        var page = await pages.PostAsync("/Account/Enterprises", "/Account/Enterprises?handler=Register", new() { ["CreditCode"] = code, ["Name"] = "大理段氏有限公司" });

        Assert.NotNull(page.Text("enterprise-message"));
        Assert.Null(Status(page.Html, code));
    }

    [Fact]
    public async Task Register_ChecksumFailure_PendingManualReviewWithoutARegistryCall()
    {
        var (pages, _, _, _) = await fixture.VerifiedCitizenAsync("乔峰");
        var before = await fixture.Simulator.CallsAsync(SimulatorApp.BusinessPath);

        var page = await pages.PostAsync("/Account/Enterprises", "/Account/Enterprises?handler=Register",
            new() { ["CreditCode"] = "91350100M0001TGQXM", ["Name"] = "福州试点企业有限公司" });

        Assert.Equal("PendingReview", Status(page.Html, "91350100M0001TGQXM"));
        Assert.Contains("审核", page.Text("enterprise-message"), StringComparison.Ordinal);
        Assert.Equal(before, await fixture.Simulator.CallsAsync(SimulatorApp.BusinessPath));
    }

    [Fact]
    public async Task Register_L1Citizen_MustVerifyFirst()
    {
        var (pages, _) = await fixture.RegisteredCitizenAsync();
        var page = await pages.GetAsync("/Account/Enterprises");
        Assert.NotNull(page.Text("enterprise-verify-first"));
    }

    [Fact]
    public async Task Agent_AuthorisedSignsInActingForTheEnterprise_TokensCarryEnterpriseAndActor()
    {
        var (representative, code, enterpriseId) = await EnterpriseAsync();
        var (agent, agentMobile, agentName, _) = await fixture.VerifiedCitizenAsync("欧阳克");
        var granted = await GrantAsync(representative, enterpriseId, agentMobile, agentName);
        Assert.Contains("data-active=\"true\"", granted.Html, StringComparison.Ordinal);
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", enterprise = "full" }, minimumAssuranceLevel: 2);

        var (_, chooser) = await app.AuthorizeAsync(agent, app.AuthorizeUrl(Scope));
        Assert.Equal("/Account/ActingFor", chooser.Url.AbsolutePath);
        var choice = Regex.Match(chooser.Html, $"value=\"([0-9a-f]+)\" class=\"acting-enterprise\" data-credit-code=\"{code}\"").Groups[1].Value;
        Assert.Equal(enterpriseId, choice);
        var chosen = await agent.PostAsync(chooser.Url.PathAndQuery, "/Account/ActingFor", new()
        {
            ["ReturnUrl"] = System.Web.HttpUtility.ParseQueryString(chooser.Url.Query)["ReturnUrl"]!, ["choice"] = choice,
        });
        var (callback, _) = await app.AuthorizeAsync(agent, chosen.Location!.ToString());
        var tokens = await app.RedeemAsync(callback!);

        foreach (var token in new[] { tokens.IdToken, tokens.AccessToken })
        {
            var enterprise = RelyingParty.JsonClaim(token, "enterprise")!.Value;
            Assert.Equal(code, enterprise.GetProperty("credit_code").GetString());
            Assert.Equal("白驼山贸易有限公司", enterprise.GetProperty("name").GetString());
            var actor = RelyingParty.JsonClaim(token, "act")!.Value;
            Assert.Equal("agent", actor.GetProperty("role").GetString());
            Assert.Equal(tokens.IdToken.Subject, actor.GetProperty("sub").GetString());
        }

        var acting = (await fixture.AuditAsync("enterprise", code)).First(e => e.GetProperty("eventType").GetString() == "enterprise.acting_sign_in");
        Assert.Equal(app.ClientId, JourneyFixture.After(acting).GetProperty("clientId").GetString());
        Assert.Equal("agent", JourneyFixture.After(acting).GetProperty("role").GetString());
    }

    [Fact]
    public async Task Agent_ChoosesSelf_NoEnterpriseInTokens()
    {
        var (representative, _, enterpriseId) = await EnterpriseAsync();
        var (agent, agentMobile, agentName, _) = await fixture.VerifiedCitizenAsync("梅超风");
        await GrantAsync(representative, enterpriseId, agentMobile, agentName);
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", enterprise = "full" });

        var (_, chooser) = await app.AuthorizeAsync(agent, app.AuthorizeUrl(Scope));
        var chosen = await agent.PostAsync(chooser.Url.PathAndQuery, "/Account/ActingFor", new()
        {
            ["ReturnUrl"] = System.Web.HttpUtility.ParseQueryString(chooser.Url.Query)["ReturnUrl"]!, ["choice"] = "self",
        });
        var (callback, _) = await app.AuthorizeAsync(agent, chosen.Location!.ToString());
        var tokens = await app.RedeemAsync(callback!);

        Assert.Null(RelyingParty.JsonClaim(tokens.IdToken, "enterprise"));
        Assert.Null(RelyingParty.JsonClaim(tokens.AccessToken, "act"));
    }

    [Fact]
    public async Task Agent_Revoked_CanNoLongerActAndTheRefreshTokenStops()
    {
        var (representative, code, enterpriseId) = await EnterpriseAsync();
        var (agent, agentMobile, agentName, _) = await fixture.VerifiedCitizenAsync("黄蓉");
        await GrantAsync(representative, enterpriseId, agentMobile, agentName);
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", enterprise = "full" });
        var (_, chooser) = await app.AuthorizeAsync(agent, app.AuthorizeUrl(Scope));
        var returnUrl = System.Web.HttpUtility.ParseQueryString(chooser.Url.Query)["ReturnUrl"]!;
        var chosen = await agent.PostAsync(chooser.Url.PathAndQuery, "/Account/ActingFor", new() { ["ReturnUrl"] = returnUrl, ["choice"] = enterpriseId });
        var (callback, _) = await app.AuthorizeAsync(agent, chosen.Location!.ToString());
        var tokens = await app.RedeemAsync(callback!);

        var agents = await representative.GetAsync($"/Account/Enterprises/Agents?id={enterpriseId}");
        var mandateId = Regex.Match(agents.Html, "name=\"mandateId\" value=\"([0-9a-f]+)\"").Groups[1].Value;
        var revoked = await representative.PostAsync($"/Account/Enterprises/Agents?id={enterpriseId}",
            $"/Account/Enterprises/Agents?id={enterpriseId}&handler=Revoke", new() { ["mandateId"] = mandateId });
        Assert.Contains("data-active=\"false\"", revoked.Html, StringComparison.Ordinal);

        // The refresh token of the acting session stops; a new sign-in no longer offers the enterprise,
        // and naming it directly is not honoured.
        var refreshed = await app.RefreshAsync(tokens.Response.RefreshToken!);
        Assert.Equal("invalid_grant", refreshed.Error);
        var again = new RelyingParty(fixture.Server, app.ClientId, "");
        var (direct, _) = await again.AuthorizeAsync(agent, again.AuthorizeUrl(Scope) + "&ih_acting=" + enterpriseId);
        Assert.NotNull(direct);
        Assert.NotNull(System.Web.HttpUtility.ParseQueryString(direct!.Query)["code"]);
        Assert.Contains((await fixture.AuditAsync("enterprise", code)).Select(e => e.GetProperty("eventType").GetString()), t => t == "enterprise.agent_revoked");
    }

    [Fact]
    public async Task Agent_NotAVerifiedCitizen_CannotBeAuthorised()
    {
        var (representative, _, enterpriseId) = await EnterpriseAsync();
        var (_, mobile) = await fixture.RegisteredCitizenAsync();

        var page = await GrantAsync(representative, enterpriseId, mobile, "某某");

        Assert.NotNull(page.Text("agent-message"));
        Assert.DoesNotContain("data-mandate", page.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agents_OfAnotherEnterprise_NotFound()
    {
        var (_, _, enterpriseId) = await EnterpriseAsync();
        var (stranger, _, _, _) = await fixture.VerifiedCitizenAsync("杨过");

        var page = await stranger.GetAsync($"/Account/Enterprises/Agents?id={enterpriseId}");

        Assert.Equal(HttpStatusCode.NotFound, page.Status);
    }
}
