using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Verification;

/// <summary>IdentityHub and the verification simulator, both for real on loopback ports, for the citizen and enterprise journeys.</summary>
public class JourneyFixture : IAsyncLifetime
{
    public const string Password = "Journey-Passw0rd";

    private readonly string _provider;

    public JourneyFixture() : this("Sqlite")
    {
    }

    protected JourneyFixture(string provider) => _provider = provider;

    public SimulatorHost Simulator { get; private set; } = null!;

    public IdentityHubServer Server { get; private set; } = null!;

    public AdminApiClient Admin { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Simulator = await SimulatorHost.StartAsync();
        Server = await StartServerAsync();
        Admin = new AdminApiClient(Server);
    }

    protected virtual Task<IdentityHubServer> StartServerAsync() => IdentityHubServer.StartAsync(_provider, settings => Simulator.Configure(settings));

    public virtual async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    /// <summary>A citizen registered through the pages (mobile proved by SMS), signed in, at L1.</summary>
    public async Task<(CitizenPages Pages, string Mobile)> RegisteredCitizenAsync()
    {
        var pages = new CitizenPages(Server);
        var mobile = UniqueNames.Mobile();
        var registered = await pages.RegisterAsync(mobile, Password);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, registered.Status);
        return (pages, mobile);
    }

    /// <summary>A registered citizen verified at L2 against a person the simulator knows; returns their name and ID number too.</summary>
    public async Task<(CitizenPages Pages, string Mobile, string Name, string IdNumber)> VerifiedCitizenAsync(string name = "韩梅梅")
    {
        var (pages, mobile) = await RegisteredCitizenAsync();
        var idNumber = TestIdentities.NewIdNumber(male: false);
        await Simulator.AddPersonAsync(name, idNumber, mobile);
        var verified = await pages.VerifyAsync(name, idNumber);
        Assert.True(verified.Text("verify-level") is { } level && level.Contains("L2", StringComparison.Ordinal),
            "Not verified: " + verified.Text("verify-error"));
        return (pages, mobile, name, idNumber);
    }

    /// <summary>A service-hall clerk (role granted through the admin API), signed in; returns the clerk's browser and id.</summary>
    public async Task<CitizenPages> ClerkAsync()
    {
        var clerkName = UniqueNames.User();
        ClerkId = await Admin.CreateUserAsync(clerkName, Password);
        using (var http = Server.CreateHttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Admin.GetAdminTokenAsync());
            using var roles = await http.PutAsJsonAsync($"/api/admin/users/{ClerkId}/roles", new { roles = new[] { "service-hall-clerk" } });
            roles.EnsureSuccessStatusCode();
        }

        var clerk = new CitizenPages(Server);
        await clerk.SignInAsync(clerkName, Password);
        return clerk;
    }

    /// <summary>The id of the clerk <see cref="ClerkAsync"/> made last.</summary>
    public string? ClerkId { get; private set; }

    /// <summary>The clerk finds the citizen by mobile number and records the in-person check; returns the page after it.</summary>
    public async Task<CitizenPages.Page> InPersonAsync(CitizenPages clerk, string mobile, string name, string idNumber)
    {
        var found = await clerk.PostAsync("/Hall", "/Hall?handler=Find", new() { ["Mobile"] = mobile });
        var citizenId = System.Text.RegularExpressions.Regex.Match(found.Html, "name=\"CitizenId\" value=\"([^\"]+)\"").Groups[1].Value;
        return await clerk.PostAsync("/Hall", "/Hall?handler=Verify", new()
        {
            ["CitizenId"] = citizenId, ["Name"] = name, ["IdNumber"] = idNumber, ["ChipAndFaceChecked"] = "true",
        });
    }

    /// <summary>Audit events of a target, newest first, through the admin API.</summary>
    private HttpClient? _auditor;

    /// <summary>
    /// Identity events about a person ("user", account id) or an enterprise ("enterprise", credit code), newest first,
    /// as an auditor reads them (/api/audit; registry administrators see registry changes only).
    /// </summary>
    public async Task<List<JsonElement>> AuditAsync(string targetType, string targetId)
    {
        _auditor ??= await Admin.SignedInPersonAsync("auditor");
        var filter = targetType == "enterprise" ? "enterprise=" : "userId=";
        var page = await _auditor.GetFromJsonAsync<JsonElement>($"/api/audit/events?{filter}{Uri.EscapeDataString(targetId)}&limit=200");
        return page.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("targetType").GetString() == targetType)
            .Select(e => e.Clone()).ToList();
    }

    public static JsonElement After(JsonElement auditEvent) => JsonDocument.Parse(auditEvent.GetProperty("after").GetString()!).RootElement;
}

public sealed class PostgresJourneyFixture() : JourneyFixture("Postgres");
