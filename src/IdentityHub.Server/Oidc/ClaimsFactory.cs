using System.Collections.Immutable;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The SSO session facts carried from the sign-in cookie into every token of that session.</summary>
public sealed record SessionFacts(string SessionId, DateTimeOffset AuthenticatedAt, IReadOnlyList<string> Methods)
{
    public static SessionFacts? From(ClaimsPrincipal principal)
    {
        var sid = principal.FindFirst(HubClaims.SessionId)?.Value;
        var authTime = principal.FindFirst(HubClaims.AuthenticationTime)?.Value;
        if (sid is null || !long.TryParse(authTime, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return null;
        }

        var methods = principal.FindAll(HubClaims.AuthenticationMethod)
            .SelectMany(c => c.ValueType == JsonClaimValueTypes.JsonArray
                ? JsonSerializer.Deserialize<string[]>(c.Value) ?? []
                : [c.Value])
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        return new SessionFacts(sid, DateTimeOffset.FromUnixTimeSeconds(seconds), methods);
    }

    public IEnumerable<Claim> ToClaims()
    {
        yield return new Claim(HubClaims.SessionId, SessionId);
        yield return new Claim(HubClaims.AuthenticationTime,
            AuthenticatedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64);
        // amr is a JSON array even with one member (OIDC Core section 2).
        yield return new Claim(HubClaims.AuthenticationMethod, JsonSerializer.Serialize(Methods), JsonClaimValueTypes.JsonArray);
    }
}

/// <summary>
/// The one place that decides which claim goes into which token (OIDC Core section 5.4 scope claims).
/// The access token carries only what an API needs to authorise (sub, sid, scopes, client); personal
/// claims go to the ID token and userinfo, and only when the scope is granted AND the client's claim
/// release policy (capped by its department's ceiling) allows them, in full or masked. Whatever scopes
/// are asked, a claim the policy does not allow never leaves the server. <c>sub</c> is the subject the
/// client sees (public or pairwise, <see cref="SubjectIdentifiers"/>).
/// </summary>
public sealed class ClaimsFactory
{
    public ClaimsIdentity CreateUserIdentity(ApplicationUser user, ImmutableArray<string> scopes, SessionFacts session, IEnumerable<string> resources,
        ClientPolicy client, string subject)
    {
        var identity = new ClaimsIdentity(
            authenticationType: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme,
            nameType: Claims.Name,
            roleType: Claims.Role);

        identity.SetClaim(Claims.Subject, subject);
        foreach (var claim in session.ToClaims())
        {
            identity.AddClaim(claim);
        }

        identity.SetClaim(Claims.AuthenticationContextReference, Factors.AuthenticationMethods.AcrOf(session.Methods));

        foreach (var (type, value, valueType) in ReleasedClaims(user, scopes, client.Claims))
        {
            identity.AddClaim(new Claim(type, value, valueType));
        }

        identity.SetScopes(scopes);
        identity.SetResources(resources);
        identity.SetDestinations(DestinationsOf);
        return identity;
    }

    public ClaimsIdentity CreateClientIdentity(string clientId, string? displayName, ImmutableArray<string> scopes, IEnumerable<string> resources)
    {
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        // RFC 9068 section 2.2: for a client acting on its own behalf, sub is the client identifier.
        identity.SetClaim(Claims.Subject, clientId);
        if (!string.IsNullOrEmpty(displayName))
        {
            identity.SetClaim(Claims.Name, displayName);
        }

        identity.SetScopes(scopes);
        identity.SetResources(resources);
        identity.SetDestinations(claim => claim.Type switch
        {
            Claims.Subject => [Destinations.AccessToken],
            _ => [],
        });
        return identity;
    }

    /// <summary>The userinfo response (OIDC Core section 5.3.2): sub plus the released claims of the granted scopes.</summary>
    public Dictionary<string, object> CreateUserInfo(ApplicationUser user, ImmutableArray<string> scopes, ClientPolicy client, string subject)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = subject };
        foreach (var (type, value, valueType) in ReleasedClaims(user, scopes, client.Claims))
        {
            result[type] = valueType == ClaimValueTypes.Boolean ? bool.Parse(value) : value;
        }

        return result;
    }

    /// <summary>Which claims (and in which form) a policy releases for the granted scopes: for the consent page.</summary>
    public static IEnumerable<(ReleasableClaim Claim, ReleaseMode Mode)> Releasable(ImmutableArray<string> scopes, ClaimReleasePolicy policy) =>
        ClaimCatalog.All.Where(c => scopes.Contains(c.Scope) && policy.ModeOf(c.Key) != ReleaseMode.None)
            .Select(c => (c, policy.ModeOf(c.Key)));

    private static IEnumerable<(string Type, string Value, string ValueType)> ReleasedClaims(ApplicationUser user, ImmutableArray<string> scopes,
        ClaimReleasePolicy policy) =>
        Releasable(scopes, policy).SelectMany(r => PersonClaims.Values(user, r.Claim.Key, r.Mode));

    private static IEnumerable<string> DestinationsOf(Claim claim) => claim.Type switch
    {
        // sub is placed by OpenIddict in every token; sid lets APIs and logout tie a token to its session.
        Claims.Subject => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        HubClaims.SessionId => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        HubClaims.AuthenticationTime or HubClaims.AuthenticationMethod or Claims.AuthenticationContextReference
            => [OpenIddictConstants.Destinations.IdentityToken],
        // Released personal claims: only what the policy let through was added to the identity.
        _ when ClaimCatalog.ClaimTypes.Contains(claim.Type) => [OpenIddictConstants.Destinations.IdentityToken],
        // Everything else stays inside the server (authorization codes and refresh tokens are encrypted).
        _ => [],
    };
}
