using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace IdentityHub.Tests.Registry;

/// <summary>Bad input is an RFC 9457 problem naming the field, and nothing stored changes.</summary>
public sealed class ValidationTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task RegisterClient_DuplicateClientId_ConflictAndOriginalKept()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("dup");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        var before = await AuditCountAsync();

        using var http = await fixture.PlatformClientAsync();
        var again = new
        {
            clientId, departmentCode = department, displayName = "另一个", kind = "machine", scopes = Array.Empty<string>(),
        };
        using var response = await http.PostAsJsonAsync("/api/admin/clients", again);
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.Conflict);
        Assert.Equal("clientId", problem.GetProperty("field").GetString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        using var stored = await http.GetAsync($"/api/admin/clients/{clientId}");
        Assert.Equal("web", (await RegistryFixture.Expect(stored, HttpStatusCode.OK)).GetProperty("kind").GetString());
        Assert.Equal(before, await AuditCountAsync());
    }

    [Theory]
    [InlineData("not a uri", "redirectUris[0]")]
    [InlineData("http://app.example.gov.cn/callback", "redirectUris[0]")]
    [InlineData("https://app.example.gov.cn/callback#fragment", "redirectUris[0]")]
    [InlineData("https://*.example.gov.cn/callback", "redirectUris[0]")]
    public async Task RegisterClient_BadRedirectUri_ProblemAndNothingStored(string redirectUri, string field)
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("uri");
        var problem = await RejectedAsync(new
        {
            clientId, departmentCode = department, displayName = "应用", kind = "web", redirectUris = new[] { redirectUri }, scopes = new[] { "openid" },
        });
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        await AssertAbsentAsync(clientId);
    }

    [Fact]
    public async Task RegisterClient_LoopbackHttp_Accepted()
    {
        var department = await fixture.CreateDepartmentAsync();
        var secret = await fixture.RegisterAsync(new
        {
            clientId = RegistryFixture.Unique("loop"), departmentCode = department, displayName = "本机", kind = "web",
            redirectUris = new[] { "http://127.0.0.1:8080/callback" }, scopes = new[] { "openid" },
        });
        Assert.NotNull(secret);
    }

    [Fact]
    public async Task RegisterClient_UnknownScope_ProblemAndNothingStored()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("scope");
        var problem = await RejectedAsync(new
        {
            clientId, departmentCode = department, displayName = "应用", kind = "web",
            redirectUris = new[] { "https://app.example.gov.cn/cb" }, scopes = new[] { "openid", "all_the_data" },
        });
        Assert.Contains("all_the_data", problem.GetProperty("errors").GetProperty("scopes")[0].GetString());
        await AssertAbsentAsync(clientId);
    }

    [Fact]
    public async Task RegisterClient_AdminScope_Refused()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("adm");
        var problem = await RejectedAsync(new
        {
            clientId, departmentCode = department, displayName = "应用", kind = "machine", scopes = new[] { "identityhub.admin" },
        });
        Assert.True(problem.GetProperty("errors").TryGetProperty("scopes", out _));
        await AssertAbsentAsync(clientId);
    }

    [Fact]
    public async Task ClaimPolicy_UnknownClaim_ProblemAndPolicyUnchanged()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("pol");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var http = await fixture.PlatformClientAsync();
        using var before = await http.GetAsync($"/api/admin/clients/{clientId}/claim-policy");
        var original = (await RegistryFixture.Expect(before, HttpStatusCode.OK)).GetProperty("claims").ToString();

        using var response = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy",
            new { claims = new Dictionary<string, string> { ["name"] = "none", ["shoe_size"] = "full" } });
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("claims.shoe_size", out _), problem.ToString());

        using var after = await http.GetAsync($"/api/admin/clients/{clientId}/claim-policy");
        Assert.Equal(original, (await RegistryFixture.Expect(after, HttpStatusCode.OK)).GetProperty("claims").ToString());
    }

    [Fact]
    public async Task ClaimPolicy_MaskedGender_Problem()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("gen");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var http = await fixture.PlatformClientAsync();
        using var response = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new { claims = new { gender = "masked" } });
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("claims.gender", out _));
    }

    [Fact]
    public async Task RegisterClient_UnknownDepartmentAndPublicSubjectNotAllowed_Problems()
    {
        var clientId = RegistryFixture.Unique("dep");
        var unknown = await RejectedAsync(RegistryFixture.WebClient(clientId, "no-such-department"));
        Assert.True(unknown.GetProperty("errors").TryGetProperty("departmentCode", out _));

        var department = await fixture.CreateDepartmentAsync();
        var problem = await RejectedAsync(RegistryFixture.WebClient(clientId, department, subjectType: "public"));
        Assert.True(problem.GetProperty("errors").TryGetProperty("subjectType", out _));
        await AssertAbsentAsync(clientId);
    }

    [Fact]
    public async Task Department_BadCodeAndDuplicate_Problems()
    {
        using var http = await fixture.PlatformClientAsync();
        using (var bad = await http.PostAsJsonAsync("/api/admin/departments", new { code = "Bad Code!", name = "" }))
        {
            var problem = await RegistryFixture.Expect(bad, HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("code", out _));
            Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
        }

        var code = await fixture.CreateDepartmentAsync();
        using var duplicate = await http.PostAsJsonAsync("/api/admin/departments", new { code, name = "重复" });
        await RegistryFixture.Expect(duplicate, HttpStatusCode.Conflict);
    }

    private async Task<JsonElement> RejectedAsync(object request)
    {
        using var http = await fixture.PlatformClientAsync();
        using var response = await http.PostAsJsonAsync("/api/admin/clients", request);
        return await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
    }

    private async Task AssertAbsentAsync(string clientId)
    {
        using var http = await fixture.PlatformClientAsync();
        using var response = await http.GetAsync($"/api/admin/clients/{clientId}");
        await RegistryFixture.Expect(response, HttpStatusCode.NotFound);
    }

    private async Task<int> AuditCountAsync()
    {
        using var http = await fixture.PlatformClientAsync();
        using var response = await http.GetAsync("/api/admin/audit-events?pageSize=1");
        return (await RegistryFixture.Expect(response, HttpStatusCode.OK)).GetProperty("total").GetInt32();
    }
}
