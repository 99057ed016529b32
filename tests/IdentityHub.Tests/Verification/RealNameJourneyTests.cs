using System.Net;
using IdentityHub.Server.Identity;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.VerificationSimulator;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Verification;

/// <summary>Registration with an SMS-proved mobile number and real-name verification, through the pages over HTTP.</summary>
public abstract class RealNameJourneyTests<TFixture>(TFixture fixture) where TFixture : JourneyFixture
{
    [Fact]
    public async Task Register_MobileProvedBySms_SignedInAtL1AndOfferedVerification()
    {
        var pages = new CitizenPages(fixture.Server);
        var registered = await pages.RegisterAsync(UniqueNames.Mobile(), JourneyFixture.Password);

        Assert.Equal(HttpStatusCode.Redirect, registered.Status);
        Assert.StartsWith("/Account/Verify", registered.Location!.PathAndQuery, StringComparison.Ordinal);
        var verify = await pages.GetAsync("/Account/Verify");
        Assert.Equal("L1", verify.Attribute("verify-level", "data-level"));
        Assert.NotNull(verify.Text("verify-submit"));
    }

    [Fact]
    public async Task Register_WrongSmsCode_RefusedNoAccount()
    {
        var pages = new CitizenPages(fixture.Server);
        var mobile = UniqueNames.Mobile();
        var refused = await pages.RegisterAsync(mobile, JourneyFixture.Password, code: real => real == "000000" ? "111111" : "000000");

        Assert.Equal(HttpStatusCode.OK, refused.Status);
        Assert.NotNull(refused.Text("register-error"));
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var lookup = scope.ServiceProvider.GetRequiredService<AccountLookup>();
        Assert.Null(await lookup.FindBySignInNameAsync(mobile));
    }

    [Fact]
    public async Task Register_MobileAlreadyRegistered_OfferedSignInOrRecovery()
    {
        // Opened at a counter (no SMS yet, so the resend interval does not apply).
        var mobile = UniqueNames.Mobile();
        await fixture.Admin.CreateUserAsync(UniqueNames.User(), JourneyFixture.Password, mobile);
        var again = await new CitizenPages(fixture.Server).RegisterAsync(mobile, JourneyFixture.Password);

        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.NotNull(again.Text("register-taken-links"));
    }

    [Fact]
    public async Task Verify_MatchingNameAndIdNumber_L2WithEvidenceMaskedOnScreen()
    {
        var (pages, _, name, idNumber) = await fixture.VerifiedCitizenAsync("李雷");

        var page = await pages.GetAsync("/Account/Verify");
        Assert.Equal("L2", page.Attribute("verify-level", "data-level"));
        Assert.Contains(idNumber[..4] + "**********" + idNumber[^4..], page.Text("verify-identity"), StringComparison.Ordinal);
        Assert.DoesNotContain(idNumber, page.Html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(name, page.Text("verify-identity"), StringComparison.Ordinal);
        Assert.Empty(await DatabaseScan.ColumnsContainingAsync(fixture.Server, idNumber));
        if (fixture.Server.Database.Provider == "Sqlite")
        {
            Assert.False(DatabaseScan.SqliteFilesContain(fixture.Server, idNumber));
        }
    }

    [Fact]
    public async Task Verify_BadCheckCharacter_RefusedLocallyWithoutCallingTheAuthority()
    {
        var (pages, _) = await fixture.RegisteredCitizenAsync();
        var before = await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath);
        var page = await pages.VerifyAsync("李雷", "110105194912310029");

        Assert.NotNull(page.Text("verify-error"));
        Assert.Equal("L1", page.Attribute("verify-level", "data-level"));
        Assert.Equal(before, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath));
    }

    [Fact]
    public async Task Verify_WrongNameOrUnknownNumber_TheSameAnswerStaysL1()
    {
        var (pages, mobile) = await fixture.RegisteredCitizenAsync();
        var known = TestIdentities.NewIdNumber();
        await fixture.Simulator.AddPersonAsync("王芳", known, mobile);

        var mismatch = await pages.VerifyAsync("王方", known);
        var notFound = await pages.VerifyAsync("王芳", TestIdentities.NewIdNumber());

        Assert.NotNull(mismatch.Text("verify-error"));
        Assert.Equal(mismatch.Text("verify-error"), notFound.Text("verify-error"));
        Assert.Equal("L1", notFound.Attribute("verify-level", "data-level"));
    }

    [Fact]
    public async Task Verify_WithoutConsent_NothingSent()
    {
        var (pages, _) = await fixture.RegisteredCitizenAsync();
        var before = await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath);
        var page = await pages.VerifyAsync("王芳", TestIdentities.NewIdNumber(), consent: false);

        Assert.NotNull(page.Text("verify-error"));
        Assert.Equal(before, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath));
    }

    [Fact]
    public async Task Verify_IdNumberOfAnotherAccount_RefusedWithRecoveryOfferRevealingNothing()
    {
        var (_, firstMobile, name, idNumber) = await fixture.VerifiedCitizenAsync("赵敏");
        var (second, _) = await fixture.RegisteredCitizenAsync();

        var page = await second.VerifyAsync(name, idNumber);

        Assert.Equal("L1", page.Attribute("verify-level", "data-level"));
        Assert.NotNull(page.Text("verify-error"));
        Assert.Equal("/Account/Recovery", page.Attribute("verify-recovery", "href"));
        Assert.DoesNotContain(firstMobile[..3] + "****", page.Html, StringComparison.Ordinal);
        Assert.DoesNotContain(firstMobile, page.Html, StringComparison.Ordinal);
        Assert.DoesNotContain(idNumber[..4] + "**", page.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hall_ClerkVerifiesInPerson_L4WithEvidenceNamingTheClerk()
    {
        var (citizen, mobile, name, idNumber) = await fixture.VerifiedCitizenAsync("周芷若");
        var clerkName = UniqueNames.User();
        var clerkId = await fixture.Admin.CreateUserAsync(clerkName, JourneyFixture.Password);
        using (var http = fixture.Server.CreateHttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", await fixture.Admin.GetAdminTokenAsync());
            using var roles = await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(http, $"/api/admin/users/{clerkId}/roles",
                new { roles = new[] { "service-hall-clerk" } });
            roles.EnsureSuccessStatusCode();
        }

        var clerk = new CitizenPages(fixture.Server);
        await clerk.SignInAsync(clerkName, JourneyFixture.Password);
        var found = await clerk.PostAsync("/Hall", "/Hall?handler=Find", new() { ["Mobile"] = mobile });
        Assert.Equal("L2", found.Attribute("hall-citizen", "data-level"));
        var citizenId = System.Text.RegularExpressions.Regex.Match(found.Html, "name=\"CitizenId\" value=\"([^\"]+)\"").Groups[1].Value;
        var done = await clerk.PostAsync("/Hall", "/Hall?handler=Verify", new()
        {
            ["CitizenId"] = citizenId, ["Name"] = name, ["IdNumber"] = idNumber, ["ChipAndFaceChecked"] = "true",
        });

        Assert.Equal("L4", done.Attribute("hall-citizen", "data-level"));
        Assert.Equal("L4", (await citizen.GetAsync("/Account/Verify")).Attribute("verify-level", "data-level"));
        var verified = (await fixture.AuditAsync("user", citizenId)).First(e => e.GetProperty("eventType").GetString() == "identity.verified");
        Assert.Equal(clerkId, verified.GetProperty("actorId").GetString());
        var after = JourneyFixture.After(verified);
        Assert.Equal("L4", after.GetProperty("level").GetString());
        Assert.Equal("in_person", after.GetProperty("check").GetString());
        Assert.Equal(clerkId, after.GetProperty("clerkUserId").GetString());
    }

    [Fact]
    public async Task Hall_CitizenWithoutTheRole_NotLetIn()
    {
        var (pages, _) = await fixture.RegisteredCitizenAsync();
        var page = await pages.GetAsync("/Hall");
        Assert.Equal(HttpStatusCode.Redirect, page.Status);
        Assert.StartsWith("/Account/Login", page.Location!.PathAndQuery, StringComparison.Ordinal);
    }
}

public sealed class RealNameJourneyTests_Sqlite(JourneyFixture fixture)
    : RealNameJourneyTests<JourneyFixture>(fixture), IClassFixture<JourneyFixture>;

public sealed class RealNameJourneyTests_Postgres(PostgresJourneyFixture fixture)
    : RealNameJourneyTests<PostgresJourneyFixture>(fixture), IClassFixture<PostgresJourneyFixture>;
