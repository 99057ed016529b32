using System.Net;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Verification;

/// <summary>A client's minimum assurance level and acr_values, enforced by taking the citizen through verification.</summary>
public sealed class StepUpTests(JourneyFixture fixture) : IClassFixture<JourneyFixture>
{
    [Fact]
    public async Task StepUp_L1CitizenAtL2Client_VerifiesAndReturnsToTheAppWithVerifiedClaims()
    {
        var (citizen, mobile) = await fixture.RegisteredCitizenAsync();
        var idNumber = TestIdentities.NewIdNumber();
        await fixture.Simulator.AddPersonAsync("武松", idNumber, mobile);
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", verification_level = "full" }, minimumAssuranceLevel: 2);
        var url = app.AuthorizeUrl("openid identity", "{\"id_token\":{\"verified_claims\":{\"verification\":{},\"claims\":{\"name\":null}}}}");

        var (callback, stepUp) = await app.AuthorizeAsync(citizen, url);
        Assert.Null(callback);
        Assert.Equal("/Account/Verify", stepUp.Url.AbsolutePath);
        Assert.Equal("L2", stepUp.Attribute("step-up-required", "data-required"));

        var returnUrl = System.Web.HttpUtility.ParseQueryString(stepUp.Url.Query)["ReturnUrl"]!;
        var verified = await citizen.VerifyAsync("武松", idNumber, returnUrl: returnUrl, required: 2);
        Assert.Equal(HttpStatusCode.Redirect, verified.Status);
        var (back, last) = await app.AuthorizeAsync(citizen, verified.Location!.ToString());
        Assert.True(back is not null, $"Stopped at {last.Url}");
        var tokens = await app.RedeemAsync(back!);

        Assert.Equal("L2", tokens.IdToken.GetPayloadValue<string>("verification_level"));
        Assert.Equal("武松", RelyingParty.JsonClaim(tokens.IdToken, "verified_claims")!.Value.GetProperty("claims").GetProperty("name").GetString());
    }

    [Fact]
    public async Task StepUp_L2CitizenAtL3Client_TakenToVerificationDeclineGivesUnmetAuthenticationRequirements()
    {
        var (citizen, _, _, _) = await fixture.VerifiedCitizenAsync("鲁智深");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" }, minimumAssuranceLevel: 3);

        var (callback, stepUp) = await app.AuthorizeAsync(citizen, app.AuthorizeUrl("openid"));
        Assert.Null(callback);
        Assert.Equal("L3", stepUp.Attribute("step-up-required", "data-required"));
        Assert.NotNull(stepUp.Text("step-up-hall"));

        var returnUrl = System.Web.HttpUtility.ParseQueryString(stepUp.Url.Query)["ReturnUrl"]!;
        var declined = await citizen.PostAsync(stepUp.Url.PathAndQuery, "/Account/Verify?handler=Decline", new() { ["ReturnUrl"] = returnUrl });
        var (error, _) = await app.AuthorizeAsync(citizen, declined.Location!.ToString());

        var query = System.Web.HttpUtility.ParseQueryString(error!.Query);
        Assert.Equal("unmet_authentication_requirements", query["error"]);
        Assert.Null(query["code"]);
    }

    [Fact]
    public async Task StepUp_AcrValuesAskL3FromAnL2Client_StepUpForL3()
    {
        var (citizen, _, _, _) = await fixture.VerifiedCitizenAsync("宋江");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" }, minimumAssuranceLevel: 2);

        var (callback, stepUp) = await app.AuthorizeAsync(citizen, app.AuthorizeUrl("openid", acrValues: "urn:identityhub:ial:L3 urn:identityhub:ial:L4"));

        Assert.Null(callback);
        Assert.Equal("L3", stepUp.Attribute("step-up-required", "data-required"));
    }

    [Fact]
    public async Task StepUp_PromptNoneBelowTheLevel_UnmetAuthenticationRequirementsWithoutAPage()
    {
        var (citizen, _) = await fixture.RegisteredCitizenAsync();
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full" }, minimumAssuranceLevel: 2);

        var (callback, _) = await app.AuthorizeAsync(citizen, app.AuthorizeUrl("openid", prompt: "none"));

        Assert.Equal("unmet_authentication_requirements", System.Web.HttpUtility.ParseQueryString(callback!.Query)["error"]);
    }

    [Fact]
    public async Task StepUp_ClerkRaisesToL4_L3ClientSignsIn()
    {
        var (citizen, mobile, name, idNumber) = await fixture.VerifiedCitizenAsync("李逵");
        var app = await RelyingParty.RegisterAsync(fixture, new { name = "full", verification_level = "full" }, minimumAssuranceLevel: 3);
        var (_, before) = await app.AuthorizeAsync(citizen, app.AuthorizeUrl("openid identity"));
        Assert.Equal("/Account/Verify", before.Url.AbsolutePath);

        var done = await fixture.InPersonAsync(await fixture.ClerkAsync(), mobile, name, idNumber);
        Assert.Equal("L4", done.Attribute("hall-citizen", "data-level"));
        var tokens = await app.SignInAsync(citizen, "openid identity",
            "{\"id_token\":{\"verified_claims\":{\"verification\":{\"assurance_level\":{\"value\":\"L4\"}},\"claims\":{\"name\":null}}}}");

        Assert.Equal("L4", tokens.IdToken.GetPayloadValue<string>("verification_level"));
        var verification = RelyingParty.JsonClaim(tokens.IdToken, "verified_claims")!.Value.GetProperty("verification");
        Assert.Equal("L4", verification.GetProperty("assurance_level").GetString());
        Assert.Equal("document", verification.GetProperty("evidence")[0].GetProperty("type").GetString());
    }
}
