using System.Security.Claims;
using IdentityHub.Server.Oidc;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// ClaimDestinations reads and writes OpenIddict's claim destinations without its per-claim JSON: each answer must be
/// OpenIddict's own (GetDestinations of a principal, HasDestination, SetDestinations), for the values the server writes and
/// for the odd ones (duplicates differing in case, empty strings, a type whose claims disagree, a value that is not JSON).
/// </summary>
public sealed class ClaimDestinationsTests
{
    private static Claim With(string type, string value, string? destinations)
    {
        var claim = new Claim(type, value);
        if (destinations is not null)
        {
            claim.Properties[Properties.Destinations] = destinations;
        }

        return claim;
    }

    private static string? Raw(Claim claim) => claim.Properties.TryGetValue(Properties.Destinations, out var value) ? value : null;

    private static ClaimsPrincipal Principal(params Claim[] claims) => new(new ClaimsIdentity(claims, "test"));

    public static TheoryData<string?> Values() => new()
    {
        null,
        "",
        "[]",
        """["access_token","id_token"]""",
        """["id_token"]""",
        """["ID_TOKEN","id_token","access_token",""]""",
        """["access_token",null]""",
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Has_AsOpenIddict(string? value)
    {
        var claim = With("name", "x", value);
        foreach (var destination in new[] { Destinations.AccessToken, Destinations.IdentityToken, "ID_token", "other" })
        {
            Assert.Equal(claim.HasDestination(destination), ClaimDestinations.Has(claim, destination));
        }
    }

    [Fact]
    public void Of_AsOpenIddict_InOrderAndContent()
    {
        var principal = Principal(
            With(Claims.Subject, "s", """["access_token","id_token"]"""),
            With(Claims.Name, "n", """["ID_TOKEN","id_token","access_token",""]"""),
            With("amr", "pwd", """["id_token"]"""),
            With("amr", "otp", """["id_token"]"""),
            With("oi_scp", "openid", null),
            With("empty", "e", "[]"),
            With(Claims.Email, "e@x", """["id_token"]"""));

        var expected = principal.GetDestinations();
        var actual = ClaimDestinations.Of(principal);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (type, values) in expected)
        {
            Assert.Equal(values.ToArray(), actual[type].ToArray());
        }
    }

    [Fact]
    public void Of_TypeWhoseClaimsDisagree_RefusedAsByOpenIddict()
    {
        var same = Principal(With("amr", "pwd", """["id_token","access_token"]"""), With("amr", "otp", """["access_token","id_token"]"""));
        Assert.Equal(same.GetDestinations()["amr"].ToArray(), ClaimDestinations.Of(same)["amr"].ToArray());

        var different = Principal(With("amr", "pwd", """["id_token"]"""), With("amr", "otp", """["access_token"]"""));
        Assert.Throws<InvalidOperationException>(() => different.GetDestinations());
        Assert.Throws<InvalidOperationException>(() => ClaimDestinations.Of(different));
    }

    [Fact]
    public void NotJson_RefusedAsByOpenIddict()
    {
        var claim = With("name", "x", "not json");
        var exception = Record.Exception(() => claim.HasDestination(Destinations.AccessToken));
        Assert.NotNull(exception);
        Assert.IsType(exception.GetType(), Record.Exception(() => ClaimDestinations.Has(claim, Destinations.AccessToken)));
        Assert.IsType(exception.GetType(), Record.Exception(() => ClaimDestinations.Of(Principal(claim))));
    }

    [Fact]
    public void Apply_WritesWhatOpenIddictWrites()
    {
        var sets = new[] { new ClaimDestinations.Set(), new ClaimDestinations.Set(Destinations.IdentityToken),
            new ClaimDestinations.Set(Destinations.AccessToken, Destinations.IdentityToken, "ACCESS_TOKEN") };
        foreach (var set in sets)
        {
            var expected = new ClaimsIdentity([With("a", "1", """["stale"]"""), With("b", "2", null)]);
            var actual = new ClaimsIdentity([With("a", "1", """["stale"]"""), With("b", "2", null)]);
            expected.SetDestinations(_ => set.Values);
            ClaimDestinations.Apply(actual, _ => set);
            Assert.Equal(expected.Claims.Select(Raw), actual.Claims.Select(Raw));
        }
    }
}
