using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Registry;

/// <summary>A registry server with one test-only endpoint that shows the sign-in cookie's claims, in order.</summary>
public class CookieClaimsFixture : RegistryFixture
{
    public const string Path = "/test/cookie-claims";

    public CookieClaimsFixture()
    {
    }

    protected CookieClaimsFixture(string provider) : base(provider)
    {
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddTransient<IStartupFilter, Endpoint>();

    private sealed class Endpoint : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map(Path, branch => branch.Run(async context =>
            {
                var result = await context.AuthenticateAsync(IdentityConstants.ApplicationScheme);
                if (!result.Succeeded)
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return;
                }

                await context.Response.WriteAsJsonAsync(result.Principal.Claims.Select(c => new[] { c.Type, c.Value }));
            }));
            next(app);
        };
    }
}

public sealed class PostgresCookieClaimsFixture : CookieClaimsFixture
{
    public PostgresCookieClaimsFixture() : base("Postgres")
    {
    }
}

/// <summary>The same server with Accounts:SignInReadsAhead off: the claims are read after the hash, by the principal factory.</summary>
public sealed class NoReadAheadCookieClaimsFixture : CookieClaimsFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Accounts:SignInReadsAhead"] = "false";
}

/// <summary>
/// The password sign-in's cookie carries exactly the account's claims, roles and role claims, as Identity's own
/// <c>UserClaimsPrincipalFactory</c> gives them (HubClaimsPrincipalFactory, AccountClaimRows; with the read-ahead,
/// AccountLookup.FindForPasswordSignInAsync): a staff account with several of each, signed in by user name and by mobile
/// number, nothing missing and nothing repeated.
/// </summary>
public abstract class SignInClaimsTests<TFixture>(TFixture fixture) where TFixture : CookieClaimsFixture
{
    [Fact]
    public async Task PasswordSignIn_StaffAccountWithClaimsRolesAndRoleClaims_CookieHasExactlyThem()
    {
        var userName = RegistryFixture.Unique("staff");
        var mobile = UniqueNames.Mobile();
        var userId = await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password, mobile);
        string[] roles = [RegistryFixture.Unique("r"), RegistryFixture.Unique("r"), RegistryFixture.Unique("r")];
        var accountClaims = Enumerable.Range(1, 5).Select(i => new Claim("test:claim", $"{userName}-{i}")).ToList();
        // Five claims per role, one of them the same in every role: the cookie has it once per role, as Identity's does.
        var roleClaims = roles.SelectMany(role => Enumerable.Range(1, 4).Select(i => (Role: role, Claim: new Claim("test:role-claim", $"{role}-{i}")))
            .Append((Role: role, Claim: new Claim("test:shared", "same")))).ToList();
        List<string[]> stock;
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var roleManager = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
            var userManager = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            foreach (var role in roles)
            {
                Check(await roleManager.CreateAsync(new IdentityRole(role)));
            }

            foreach (var (role, claim) in roleClaims)
            {
                Check(await roleManager.AddClaimAsync((await roleManager.FindByNameAsync(role))!, claim));
            }

            var user = (await userManager.FindByIdAsync(userId))!;
            Check(await userManager.AddClaimsAsync(user, accountClaims));
            Check(await userManager.AddToRolesAsync(user, roles));
            var identityFactory = new UserClaimsPrincipalFactory<ApplicationUser, IdentityRole>(userManager, roleManager,
                scope.ServiceProvider.GetRequiredService<IOptions<IdentityOptions>>());
            stock = Sorted((await identityFactory.CreateAsync(user)).Claims.Select(c => new[] { c.Type, c.Value }));
        }

        var expected = Sorted(accountClaims.Select(c => new[] { c.Type, c.Value })
            .Concat(roles.Select(r => new[] { ClaimTypes.Role, r }))
            .Concat(roleClaims.Select(c => new[] { c.Claim.Type, c.Claim.Value })));
        Assert.Equal(5 + 3 + 15, expected.Count);
        foreach (var signInName in new[] { userName, mobile })
        {
            using var client = await fixture.SignedInClientAsync(signInName);
            using var response = await client.GetAsync(CookieClaimsFixture.Path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var cookie = (await response.Content.ReadFromJsonAsync<List<string[]>>())!;
            Assert.Equal(expected, Sorted(cookie.Where(c => c[0].StartsWith("test:", StringComparison.Ordinal) || c[0] == ClaimTypes.Role)));
            Assert.Equal(userId, cookie.Single(c => c[0] == ClaimTypes.NameIdentifier)[1]);
            // Identity's own principal, plus the session facts (sid, auth_time, amr) and nothing else.
            var sessionFacts = new[] { HubClaims.SessionId, HubClaims.AuthenticationTime, HubClaims.AuthenticationMethod };
            Assert.Equal(stock, Sorted(cookie.Where(c => !sessionFacts.Contains(c[0]))));
            Assert.Equal(sessionFacts.Order(StringComparer.Ordinal), cookie.Where(c => sessionFacts.Contains(c[0])).Select(c => c[0]).Order(StringComparer.Ordinal));
        }
    }

    private static List<string[]> Sorted(IEnumerable<string[]> claims) =>
        [.. claims.OrderBy(c => c[0], StringComparer.Ordinal).ThenBy(c => c[1], StringComparer.Ordinal)];

    private static void Check(IdentityResult result) =>
        Assert.True(result.Succeeded, string.Join("; ", result.Errors.Select(e => e.Description)));
}

public sealed class SqliteSignInClaimsTests(CookieClaimsFixture fixture)
    : SignInClaimsTests<CookieClaimsFixture>(fixture), IClassFixture<CookieClaimsFixture>;

public sealed class PostgresSignInClaimsTests(PostgresCookieClaimsFixture fixture)
    : SignInClaimsTests<PostgresCookieClaimsFixture>(fixture), IClassFixture<PostgresCookieClaimsFixture>;

public sealed class NoReadAheadSignInClaimsTests(NoReadAheadCookieClaimsFixture fixture)
    : SignInClaimsTests<NoReadAheadCookieClaimsFixture>(fixture), IClassFixture<NoReadAheadCookieClaimsFixture>;
