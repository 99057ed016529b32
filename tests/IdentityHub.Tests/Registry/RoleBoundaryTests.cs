using System.Net;
using System.Net.Http.Json;

namespace IdentityHub.Tests.Registry;

/// <summary>Who may do what in /api/admin: platform administrator, department administrator, auditor, anyone else.</summary>
public sealed class RoleBoundaryTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task AdminApi_NoCredentials_Unauthorized()
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.GetAsync("/api/admin/clients");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AdminApi_PersonWithoutRole_Forbidden()
    {
        using var person = await fixture.PersonClientAsync([]);
        using var response = await person.GetAsync("/api/admin/departments");
        await RegistryFixture.Expect(response, HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// The password sign-in reads the account's roles and claims with the account (AccountLookup.FindForPasswordSignInAsync):
    /// each sign-in reads them afresh, so a role removed between two sign-ins is gone from the second cookie, and one given
    /// is there.
    /// </summary>
    [Fact]
    public async Task PasswordSignIn_RolesChangedBetweenSignIns_EachCookieHasTheAccountsRolesOfItsSignIn()
    {
        var department = await fixture.CreateDepartmentAsync();
        var userName = RegistryFixture.Unique("u");
        var userId = await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password);

        using (var plain = await fixture.SignedInClientAsync(userName))
        using (var refused = await plain.GetAsync("/api/admin/clients"))
        {
            await RegistryFixture.Expect(refused, HttpStatusCode.Forbidden);
        }

        await fixture.SetRolesAsync(userId, ["department-admin"], department);
        using (var admin = await fixture.SignedInClientAsync(userName))
        using (var listed = await admin.GetAsync("/api/admin/clients"))
        {
            await RegistryFixture.Expect(listed, HttpStatusCode.OK);
        }

        await fixture.SetRolesAsync(userId, []);
        using var again = await fixture.SignedInClientAsync(userName);
        using var refusedAgain = await again.GetAsync("/api/admin/clients");
        await RegistryFixture.Expect(refusedAgain, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task DepartmentAdmin_OwnDepartment_RegistersAndManagesClient()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var admin = await fixture.PersonClientAsync(["department-admin"], department);
        var clientId = RegistryFixture.Unique("own");
        using (var created = await admin.PostAsJsonAsync("/api/admin/clients", RegistryFixture.WebClient(clientId, department)))
        {
            var json = await RegistryFixture.Expect(created, HttpStatusCode.Created);
            Assert.False(string.IsNullOrEmpty(json.GetProperty("clientSecret").GetString()));
        }

        using (var disabled = await admin.PostAsync($"/api/admin/clients/{clientId}/disable", null))
        {
            Assert.Equal("disabled", (await RegistryFixture.Expect(disabled, HttpStatusCode.OK)).GetProperty("status").GetString());
        }

        using var list = await admin.GetAsync("/api/admin/clients?pageSize=200");
        var items = (await RegistryFixture.Expect(list, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
        Assert.Contains(items, c => c.GetProperty("clientId").GetString() == clientId);
        Assert.All(items, c => Assert.Equal(department, c.GetProperty("departmentCode").GetString()));
    }

    [Fact]
    public async Task DepartmentAdmin_OtherDepartmentsClient_ForbiddenEverywhere()
    {
        var own = await fixture.CreateDepartmentAsync();
        var other = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("theirs");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, other));
        using var admin = await fixture.PersonClientAsync(["department-admin"], own);

        var attempts = new Func<Task<HttpResponseMessage>>[]
        {
            () => admin.GetAsync($"/api/admin/clients/{clientId}"),
            () => admin.PutAsJsonAsync($"/api/admin/clients/{clientId}", RegistryFixture.WebClient(clientId, other)),
            () => admin.PostAsync($"/api/admin/clients/{clientId}/disable", null),
            () => admin.DeleteAsync($"/api/admin/clients/{clientId}"),
            () => admin.PostAsync($"/api/admin/clients/{clientId}/secrets", null),
            () => admin.GetAsync($"/api/admin/clients/{clientId}/secrets"),
            () => admin.GetAsync($"/api/admin/clients/{clientId}/claim-policy"),
            () => admin.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new { claims = new { name = "full" } }),
            () => admin.PostAsJsonAsync("/api/admin/clients", RegistryFixture.WebClient(RegistryFixture.Unique("x"), other)),
            () => admin.GetAsync($"/api/admin/departments/{other}"),
        };
        foreach (var attempt in attempts)
        {
            using var response = await attempt();
            await RegistryFixture.Expect(response, HttpStatusCode.Forbidden);
        }

        using var platform = await fixture.PlatformClientAsync();
        using var still = await platform.GetAsync($"/api/admin/clients/{clientId}");
        Assert.Equal("active", (await RegistryFixture.Expect(still, HttpStatusCode.OK)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task DepartmentAdmin_DepartmentChanges_Forbidden()
    {
        var own = await fixture.CreateDepartmentAsync();
        using var admin = await fixture.PersonClientAsync(["department-admin"], own);
        using (var create = await admin.PostAsJsonAsync("/api/admin/departments", new { code = RegistryFixture.Unique("n"), name = "新部门" }))
        {
            await RegistryFixture.Expect(create, HttpStatusCode.Forbidden);
        }

        using (var suspend = await admin.PostAsync($"/api/admin/departments/{own}/suspend", null))
        {
            await RegistryFixture.Expect(suspend, HttpStatusCode.Forbidden);
        }

        using (var ceiling = await admin.PutAsJsonAsync($"/api/admin/departments/{own}/ceiling", new { claims = new { id_number = "full" } }))
        {
            await RegistryFixture.Expect(ceiling, HttpStatusCode.Forbidden);
        }

        using var read = await admin.GetAsync($"/api/admin/departments/{own}");
        Assert.Equal("active", (await RegistryFixture.Expect(read, HttpStatusCode.OK)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task DepartmentAdmin_PolicyBeyondCeiling_Forbidden()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("ceil");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var admin = await fixture.PersonClientAsync(["department-admin"], department);

        // The default ceiling has no ID number: the department administrator cannot grant it.
        using (var widen = await admin.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new { claims = new { name = "full", id_number = "masked" } }))
        {
            await RegistryFixture.Expect(widen, HttpStatusCode.Forbidden);
        }

        // Once the platform administrator raises the ceiling to masked, masked is allowed and full is not.
        using var platform = await fixture.PlatformClientAsync();
        using (var raise = await platform.PutAsJsonAsync($"/api/admin/departments/{department}/ceiling",
                   new { claims = new { name = "full", phone_number = "full", id_number = "masked" } }))
        {
            await RegistryFixture.Expect(raise, HttpStatusCode.OK);
        }

        using (var masked = await admin.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new { claims = new { name = "full", id_number = "masked" } }))
        {
            var json = await RegistryFixture.Expect(masked, HttpStatusCode.OK);
            Assert.Equal("masked", json.GetProperty("effective").GetProperty("id_number").GetString());
        }

        using var full = await admin.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new { claims = new { id_number = "full" } });
        await RegistryFixture.Expect(full, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Auditor_ReadsEverything_ChangesNothing()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("aud");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var auditor = await fixture.PersonClientAsync(["auditor"]);

        foreach (var path in new[] { "/api/admin/departments", $"/api/admin/clients/{clientId}", $"/api/admin/clients/{clientId}/claim-policy",
                     "/api/admin/registry/export", "/api/admin/audit-events" })
        {
            using var read = await auditor.GetAsync(path);
            await RegistryFixture.Expect(read, HttpStatusCode.OK);
        }

        var writes = new Func<Task<HttpResponseMessage>>[]
        {
            () => auditor.PostAsync($"/api/admin/clients/{clientId}/disable", null),
            () => auditor.PostAsync($"/api/admin/clients/{clientId}/secrets", null),
            () => auditor.PostAsJsonAsync("/api/admin/clients", RegistryFixture.WebClient(RegistryFixture.Unique("x"), department)),
            () => auditor.PostAsync($"/api/admin/departments/{department}/suspend", null),
            () => auditor.PostAsJsonAsync("/api/admin/registry/import", new { departments = Array.Empty<object>() }),
        };
        foreach (var write in writes)
        {
            using var response = await write();
            await RegistryFixture.Expect(response, HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task PlatformAdminPerson_CookieWithoutCsrfHeader_Forbidden()
    {
        using var person = await fixture.PersonClientAsync(["platform-admin"]);
        var code = RegistryFixture.Unique("p");
        person.DefaultRequestHeaders.Remove("X-IdentityHub-Csrf");
        using (var refused = await person.PostAsJsonAsync("/api/admin/departments", new { code, name = "部门" }))
        {
            await RegistryFixture.Expect(refused, HttpStatusCode.Forbidden);
        }

        person.DefaultRequestHeaders.Add("X-IdentityHub-Csrf", "1");
        using var created = await person.PostAsJsonAsync("/api/admin/departments", new { code, name = "部门" });
        await RegistryFixture.Expect(created, HttpStatusCode.Created);
    }
}
