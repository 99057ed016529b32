using System.Net;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Tests.Admin;

public abstract partial class AdminApiTests
{
    [Fact]
    public async Task Departments_ValidRequest_Returns201WithBodyAndLocation()
    {
        var code = UniqueNames.Department();

        using var response = await PostJsonAsync(DepartmentsPath, new { code, name = "人力资源和社会保障局", nameEn = "Human Resources and Social Security" });

        var body = await AssertCreatedAsync(response, $"{DepartmentsPath}/{code}");
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.Equal("人力资源和社会保障局", body.GetProperty("name").GetString());
        Assert.Equal("Human Resources and Social Security", body.GetProperty("nameEn").GetString());
        Assert.Equal("active", body.GetProperty("status").GetString());
        var stored = await QueryDatabaseAsync(db => db.Departments.AsNoTracking().SingleAsync(d => d.Code == code));
        Assert.Equal("人力资源和社会保障局", stored.Name);
    }

    [Fact]
    public async Task Departments_DuplicateCode_Returns409AndKeepsOriginal()
    {
        var code = UniqueNames.Department();
        using (var first = await PostJsonAsync(DepartmentsPath, new { code, name = "民政局" }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        using var second = await PostJsonAsync(DepartmentsPath, new { code, name = "另一个部门" });

        await AssertConflictAsync(second, "code");
        var stored = await QueryDatabaseAsync(db => db.Departments.AsNoTracking().Where(d => d.Code == code).ToListAsync());
        Assert.Equal("民政局", Assert.Single(stored).Name);
    }

    [Fact]
    public async Task Departments_MissingFields_Returns400NamingEachField()
    {
        using var response = await PostJsonAsync(DepartmentsPath, new { nameEn = "No code, no name" });

        await AssertValidationProblemAsync(response, "code", "name");
        Assert.False(await QueryDatabaseAsync(db => db.Departments.AnyAsync(d => d.NameEn == "No code, no name")));
    }

    [Fact]
    public async Task Departments_InvalidCode_Returns400AndStoresNothing()
    {
        var code = "Bad Code " + UniqueNames.Department();

        using var response = await PostJsonAsync(DepartmentsPath, new { code, name = "大写和空格" });

        await AssertValidationProblemAsync(response, "code");
        Assert.False(await QueryDatabaseAsync(db => db.Departments.AnyAsync(d => d.Code == code)));
    }

    [Fact]
    public async Task Departments_MalformedJson_Returns400ProblemNamingBody()
    {
        var code = UniqueNames.Department();

        using var response = await PostRawAsync(DepartmentsPath, $"{{\"code\": \"{code}\", \"name\": \"未闭合\"");

        await AssertValidationProblemAsync(response, "body");
        Assert.False(await QueryDatabaseAsync(db => db.Departments.AnyAsync(d => d.Code == code)));
    }

    [Fact]
    public async Task Departments_WrongJsonType_Returns400NamingField()
    {
        var code = UniqueNames.Department();

        using var response = await PostRawAsync(DepartmentsPath, $"{{\"code\": \"{code}\", \"name\": 42}}");

        await AssertValidationProblemAsync(response, "name");
        Assert.False(await QueryDatabaseAsync(db => db.Departments.AnyAsync(d => d.Code == code)));
    }

    [Fact]
    public async Task Departments_NonJsonContentType_Returns415Problem()
    {
        var code = UniqueNames.Department();

        using var response = await PostRawAsync(DepartmentsPath, $"{{\"code\": \"{code}\", \"name\": \"x\"}}", "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(await QueryDatabaseAsync(db => db.Departments.AnyAsync(d => d.Code == code)));
    }
}
