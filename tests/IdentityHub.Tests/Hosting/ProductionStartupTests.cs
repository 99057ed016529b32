using IdentityHub.Tests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using IdentityHub.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Tests.Hosting;

/// <summary>
/// The built server started as its own process, the way an operator starts it: outside Development it
/// refuses to run without HTTPS and certificates, and runs with them; "migrate" migrates and exits.
/// </summary>
public sealed class ProductionStartupTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("identityhub-process-");

    private string DataDirectory => Directory.CreateDirectory(Path.Combine(_temp.FullName, "data")).FullName;

    [Fact]
    public async Task Server_ProductionWithoutHttpsOrCertificates_ExitsWith1NamingWhatIsMissing()
    {
        var data = DataDirectory;
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Database__DataDirectory"] = data,
        });

        var exitCode = await server.WaitForExitAsync();

        var stderr = server.StandardError;
        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstdout:\n{server.StandardOutput}\nstderr:\n{stderr}");
        Assert.Contains("Oidc:Issuer", stderr, StringComparison.Ordinal);
        Assert.Contains("https endpoint", stderr, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_URLS", stderr, StringComparison.Ordinal);
        Assert.Contains("TLS certificate", stderr, StringComparison.Ordinal);
        Assert.Contains("signing certificate", stderr, StringComparison.Ordinal);
        Assert.Contains("Oidc:SigningCertificates", stderr, StringComparison.Ordinal);
        Assert.Contains("encryption certificate", stderr, StringComparison.Ordinal);
        AssertNoStackTrace(stderr);
        Assert.False(File.Exists(Path.Combine(data, "identityhub.db")), "The refusing server created its database.");
    }

    [Fact]
    public async Task Server_ProductionWithPlainHttpUrl_ExitsWith1RefusingHttp()
    {
        var (environment, _, _) = ProductionEnvironment();
        environment["ASPNETCORE_URLS"] = "http://127.0.0.1:" + FreePort();
        await using var server = ServerProcess.Start(environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstderr:\n{server.StandardError}");
        Assert.Contains("Plain http endpoints are not allowed", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("An https endpoint", server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Oidc:Issuer", server.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(server.StandardError);
    }

    [Fact]
    public async Task Server_ProductionWithMissingSigningCertificateFile_ExitsWith1NamingTheFile()
    {
        var (environment, _, _) = ProductionEnvironment();
        var missing = Path.Combine(_temp.FullName, "no-such-signing.pfx");
        environment["Oidc__SigningCertificates__0__Path"] = missing;
        await using var server = ServerProcess.Start(environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstderr:\n{server.StandardError}");
        Assert.Contains(missing, server.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(server.StandardError);
    }

    [Fact]
    public async Task Server_ProductionWithWrongCertificatePassword_ExitsWith1NamingTheFile()
    {
        var (environment, _, _) = ProductionEnvironment();
        environment["Oidc__EncryptionCertificates__0__Password"] = "not-the-password";
        await using var server = ServerProcess.Start(environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstderr:\n{server.StandardError}");
        Assert.Contains(environment["Oidc__EncryptionCertificates__0__Path"], server.StandardError, StringComparison.Ordinal);
        Assert.Contains("wrong password", server.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(server.StandardError);
    }

    [Fact]
    public async Task Server_ProductionWithSigningCertificateNeitherRsaNorP256_ExitsWith1NamingTheFile()
    {
        // Every configured signing certificate is loaded and may sign (clients register RS256 or ES256), so one that is
        // neither RSA nor ECDSA P-256 (ES256, RFC 7518 section 3.4) is refused, even beside a valid one of the default algorithm.
        var (environment, _, _) = ProductionEnvironment();
        var p384 = TestCertificates.CreateSigningEc(_temp.FullName, System.Security.Cryptography.ECCurve.NamedCurves.nistP384, "signing-p384.pfx");
        environment["Oidc__SigningCertificates__1__Path"] = p384.Path;
        environment["Oidc__SigningCertificates__1__Password"] = p384.Password;
        await using var server = ServerProcess.Start(environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstderr:\n{server.StandardError}");
        Assert.Contains(p384.Path, server.StandardError, StringComparison.Ordinal);
        Assert.Contains("P-256", server.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(server.StandardError);
    }

    [Fact]
    public async Task Server_PasswordHashIterationsBelowFloor_ExitsWith1NamingTheSetting()
    {
        var (environment, _, _) = ProductionEnvironment();
        environment["Accounts__PasswordHashIterations"] = "10000";
        await using var server = ServerProcess.Start(environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstdout:\n{server.StandardOutput}\nstderr:\n{server.StandardError}");
        Assert.Contains("PasswordHashIterations", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("210000", server.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(server.StandardError);
    }

    [Fact]
    public async Task Server_ProductionWithHttpsAndCertificates_ServesDiscoveryOverHttps()
    {
        var (environment, tls, signing) = ProductionEnvironment();
        var baseUrl = environment["ASPNETCORE_URLS"];
        await using var server = ServerProcess.Start(environment);
        await server.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + baseUrl, StringComparison.Ordinal));
        using var handler = new HttpClientHandler
        {
            // Trust exactly the certificate this test made, nothing else.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.RawData.AsSpan().SequenceEqual(tls.Certificate.RawData),
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };

        using var discovery = JsonDocument.Parse(await http.GetStringAsync("/.well-known/openid-configuration"));

        var metadata = discovery.RootElement;
        Assert.Equal(baseUrl + "/", metadata.GetProperty("issuer").GetString());
        Assert.Equal(baseUrl + "/connect/authorize", metadata.GetProperty("authorization_endpoint").GetString());
        Assert.Equal(baseUrl + "/connect/token", metadata.GetProperty("token_endpoint").GetString());
        var jwksUri = metadata.GetProperty("jwks_uri").GetString()!;
        Assert.StartsWith(baseUrl + "/", jwksUri, StringComparison.Ordinal);
        using var jwks = JsonDocument.Parse(await http.GetStringAsync(jwksUri));
        var published = jwks.RootElement.GetProperty("keys").EnumerateArray()
            .Where(k => k.TryGetProperty("x5c", out _))
            .Select(k => k.GetProperty("x5c")[0].GetString())
            .ToList();
        Assert.Contains(Convert.ToBase64String(signing.Certificate.RawData), published);
        // Pages in Production: the friendly error page, never a stack trace.
        using var missing = await http.GetAsync("/no-such-page");
        var html = await missing.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("您访问的页面不存在", html, StringComparison.Ordinal);
        AssertNoStackTrace(html);

        // Outside Development the log is structured: one JSON object per line (Logging:Console:FormatterName=json).
        var lines = server.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, line => line.Contains("Now listening on", StringComparison.Ordinal));
        Assert.All(lines, line =>
        {
            using var entry = JsonDocument.Parse(line);
            Assert.True(entry.RootElement.TryGetProperty("Category", out _) && entry.RootElement.TryGetProperty("LogLevel", out _), line);
        });
    }

    [Fact]
    public async Task Migrate_FreshSqliteDataDirectory_ExitsZeroAndCreatesDatabase()
    {
        var data = DataDirectory;
        var database = Path.Combine(data, "identityhub.db");
        Assert.False(File.Exists(database));
        // A migration job has the database settings only: no TLS endpoint, no token signing keys.
        await using var migrate = ServerProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Database__Provider"] = "Sqlite",
            ["Database__DataDirectory"] = data,
        }, "migrate");

        var exitCode = await migrate.WaitForExitAsync();

        Assert.True(exitCode == 0, $"Exit code {exitCode}.\nstdout:\n{migrate.StandardOutput}\nstderr:\n{migrate.StandardError}");
        Assert.Contains("Database migrated.", migrate.StandardOutput, StringComparison.Ordinal);
        Assert.True(File.Exists(database), "No database file at " + database);
        var options = new DbContextOptionsBuilder<SqliteIdentityHubDbContext>().UseSqlite($"Data Source={database};Pooling=False").Options;
        await using var db = new SqliteIdentityHubDbContext(options);
        var all = db.Database.GetMigrations().ToList();
        Assert.NotEmpty(all);
        Assert.Equal(all, await db.Database.GetAppliedMigrationsAsync());
        Assert.Equal(0, await db.Users.CountAsync());
        Assert.Equal(0, await db.Departments.CountAsync());
    }

    [Fact]
    public async Task Migrate_FreshPostgresDatabase_ExitsZeroAndAppliesEveryMigration()
    {
        await using var database = await Infrastructure.TestDatabase.CreateAsync("Postgres");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Database__Provider"] = "Postgres",
            ["Database__DataDirectory"] = DataDirectory,
            ["ConnectionStrings__IdentityHub"] = database.ConnectionString,
        };

        int exitCode;
        await using (var migrate = ServerProcess.Start(environment, "migrate"))
        {
            exitCode = await migrate.WaitForExitAsync();
            Assert.True(exitCode == 0, $"Exit code {exitCode}.\nstdout:\n{migrate.StandardOutput}\nstderr:\n{migrate.StandardError}");
        }

        var options = new DbContextOptionsBuilder<PostgresIdentityHubDbContext>().UseNpgsql(database.ConnectionString).Options;
        await using (var db = new PostgresIdentityHubDbContext(options))
        {
            var all = db.Database.GetMigrations().ToList();
            Assert.NotEmpty(all);
            Assert.Equal(all, await db.Database.GetAppliedMigrationsAsync());
            Assert.Equal(0, await db.Users.CountAsync());
        }

        // Nothing pending: a second run (another node's deployment job) succeeds too.
        await using var again = ServerProcess.Start(environment, "migrate");
        exitCode = await again.WaitForExitAsync();
        Assert.True(exitCode == 0, $"Second run: exit code {exitCode}.\nstderr:\n{again.StandardError}");
    }

    [Fact]
    public async Task Migrate_PostgresWithoutConnectionString_ExitsWith1NamingTheSetting()
    {
        await using var migrate = ServerProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Database__Provider"] = "Postgres",
            ["Database__DataDirectory"] = DataDirectory,
        }, "migrate");

        var exitCode = await migrate.WaitForExitAsync();

        Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstderr:\n{migrate.StandardError}");
        Assert.Contains("ConnectionStrings:IdentityHub", migrate.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(migrate.StandardError);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            _temp.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A file still held by an ending process; the temp folder is cleaned by the OS.
        }
    }

    /// <summary>Everything Production needs: an https URL on a free loopback port, a TLS certificate, signing and encryption certificates, an https issuer.</summary>
    private (Dictionary<string, string> Environment, TestCertificates.Pfx Tls, TestCertificates.Pfx Signing) ProductionEnvironment()
    {
        var tls = TestCertificates.CreateTls(_temp.FullName);
        var signing = TestCertificates.CreateSigning(_temp.FullName);
        var encryption = TestCertificates.CreateEncryption(_temp.FullName);
        var baseUrl = "https://127.0.0.1:" + FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = baseUrl,
            ["Kestrel__Certificates__Default__Path"] = tls.Path,
            ["Kestrel__Certificates__Default__Password"] = tls.Password,
            ["Oidc__Issuer"] = baseUrl + "/",
            ["Oidc__SigningCertificates__0__Path"] = signing.Path,
            ["Oidc__SigningCertificates__0__Password"] = signing.Password,
            ["Oidc__EncryptionCertificates__0__Path"] = encryption.Path,
            ["Oidc__EncryptionCertificates__0__Password"] = encryption.Password,
            ["Database__Provider"] = "Sqlite",
            ["Database__DataDirectory"] = DataDirectory,
            // Required outside Development (the registry's pairwise subjects, real-name personal data keys).
            ["Subjects__PairwiseSecret"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["PersonalData__Keys__0__Id"] = "k1",
            ["PersonalData__Keys__0__Key"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["PersonalData__BlindIndexKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        };
        return (environment, tls, signing);
    }

    private static int FreePort() => TestPorts.Free();

    private static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("Unhandled exception", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", text, StringComparison.Ordinal);
    }
}
