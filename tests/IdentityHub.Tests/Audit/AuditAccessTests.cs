using System.Net;
using System.Net.Http.Headers;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>Who may read the audit history: auditors only. Administrators, citizens and the bootstrap client may not.</summary>
public sealed class AuditAccessTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    [Fact]
    public async Task AuditApi_DepartmentAdministrator_Forbidden()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var admin = await fixture.PersonClientAsync([AdminRoles.DepartmentAdministrator], department);

        using var response = await admin.GetAsync("/api/audit/events?department=" + department);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task AuditApi_PlatformAdministratorPersonAndBootstrapClient_Forbidden()
    {
        using var person = await fixture.PersonClientAsync([AdminRoles.PlatformAdministrator]);
        using var client = fixture.Server.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.Admin.GetAdminTokenAsync());

        using var byPerson = await person.GetAsync("/api/audit/events");
        using var byClient = await client.GetAsync("/api/audit/events");

        Assert.Equal(HttpStatusCode.Forbidden, byPerson.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byClient.StatusCode);
    }

    [Fact]
    public async Task AuditApi_CitizenOrAnonymous_ForbiddenOrUnauthorized()
    {
        using var citizen = await fixture.PersonClientAsync([]);
        using var anonymous = fixture.Server.CreateHttpClient();

        using var byCitizen = await citizen.GetAsync("/api/audit/events");
        using var byNobody = await anonymous.GetAsync("/api/audit/events");

        Assert.Equal(HttpStatusCode.Forbidden, byCitizen.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byNobody.StatusCode);
    }

    [Fact]
    public async Task RegistryAuditList_DepartmentAdministrator_SeesNoneOfTheDepartmentsIdentityEvents()
    {
        var (department, clientId, _) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, RegistryFixture.Password, returnUrl: AuditorQueryTests.ReturnUrl(clientId));
        Assert.NotEmpty(await fixture.EventsAsync($"department={department}&type=signin"));
        using var admin = await fixture.PersonClientAsync([AdminRoles.DepartmentAdministrator], department);

        using var response = await admin.GetAsync("/api/admin/audit-events?pageSize=200");

        var items = (await RegistryFixture.Expect(response, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(items);
        Assert.All(items, e => Assert.StartsWith("registry.", e.GetProperty("eventType").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheAuditApi()
    {
        using var http = fixture.Server.CreateHttpClient();

        var document = await http.GetStringAsync("/openapi/v1.json");

        Assert.Contains("\"/api/audit/events\"", document, StringComparison.Ordinal);
        Assert.Contains("\"/api/audit/events/export\"", document, StringComparison.Ordinal);
        Assert.Contains("\"/api/audit/verify\"", document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditConsole_DepartmentAdministrator_SentToNoAccessPage()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var admin = await fixture.PersonClientAsync([AdminRoles.DepartmentAdministrator], department);

        using var response = await admin.GetAsync("/Audit");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/Admin/Denied", response.Headers.Location!.OriginalString);
    }
}
