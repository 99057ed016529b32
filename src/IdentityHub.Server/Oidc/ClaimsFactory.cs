using System.Collections.Immutable;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using IdentityHub.Server.Identity;
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
/// claims go to the ID token and userinfo, and only for the scopes granted.
/// </summary>
public sealed class ClaimsFactory
{
    public ClaimsIdentity CreateUserIdentity(ApplicationUser user, ImmutableArray<string> scopes, SessionFacts session, IEnumerable<string> resources)
    {
        var identity = new ClaimsIdentity(
            authenticationType: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme,
            nameType: Claims.Name,
            roleType: Claims.Role);

        identity.SetClaim(Claims.Subject, user.Id);
        foreach (var claim in session.ToClaims())
        {
            identity.AddClaim(claim);
        }

        identity.SetClaim(Claims.AuthenticationContextReference, Factors.AuthenticationMethods.AcrOf(session.Methods));

        foreach (var (type, value, valueType) in ScopeClaims(user, scopes))
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

    /// <summary>The userinfo response (OIDC Core section 5.3.2): sub plus the claims of the granted scopes.</summary>
    public Dictionary<string, object> CreateUserInfo(ApplicationUser user, ImmutableArray<string> scopes)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = user.Id };
        foreach (var (type, value, valueType) in ScopeClaims(user, scopes))
        {
            result[type] = valueType == ClaimValueTypes.Boolean ? bool.Parse(value) : value;
        }

        return result;
    }

    private static IEnumerable<(string Type, string Value, string ValueType)> ScopeClaims(ApplicationUser user, ImmutableArray<string> scopes)
    {
        if (scopes.Contains(Scopes.Profile))
        {
            yield return (Claims.Name, user.DisplayName ?? user.UserName ?? user.Id, ClaimValueTypes.String);
            if (user.UserName is not null)
            {
                yield return (Claims.PreferredUsername, user.UserName, ClaimValueTypes.String);
            }
        }

        if (scopes.Contains(Scopes.Phone) && user.PhoneNumber is not null)
        {
            yield return (Claims.PhoneNumber, user.PhoneNumber, ClaimValueTypes.String);
            yield return (Claims.PhoneNumberVerified, user.PhoneNumberConfirmed ? "true" : "false", ClaimValueTypes.Boolean);
        }

        if (scopes.Contains(Scopes.Email) && user.Email is not null)
        {
            yield return (Claims.Email, user.Email, ClaimValueTypes.String);
            yield return (Claims.EmailVerified, user.EmailConfirmed ? "true" : "false", ClaimValueTypes.Boolean);
        }
    }

    private static IEnumerable<string> DestinationsOf(Claim claim) => claim.Type switch
    {
        // sub is placed by OpenIddict in every token; sid lets APIs and logout tie a token to its session.
        Claims.Subject => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        HubClaims.SessionId => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        HubClaims.AuthenticationTime or HubClaims.AuthenticationMethod or Claims.AuthenticationContextReference
            => [OpenIddictConstants.Destinations.IdentityToken],
        Claims.Name or Claims.PreferredUsername or Claims.PhoneNumber or Claims.PhoneNumberVerified
            or Claims.Email or Claims.EmailVerified => [OpenIddictConstants.Destinations.IdentityToken],
        // Everything else stays inside the server (authorization codes and refresh tokens are encrypted).
        _ => [],
    };
}
