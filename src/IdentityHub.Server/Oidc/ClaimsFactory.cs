using System.Collections.Immutable;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Verification;
using Microsoft.Extensions.Options;
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
/// The access token carries only what an API needs to authorise (sub, sid, scopes, client, and the enterprise
/// and actor when the person acts for an enterprise); personal claims go to the ID token and userinfo, and only
/// when the scope is granted or the claims request parameter asks for them (section 5.5) AND the client's claim
/// release policy (capped by its department's ceiling) allows them, in full or masked. Whatever is asked, a
/// claim the policy does not allow never leaves the server. verified_claims (OpenID Identity Assurance) are
/// built by <see cref="VerifiedClaims"/> under the same policy. <c>sub</c> is the subject the client sees
/// (public or pairwise, <see cref="SubjectIdentifiers"/>).
/// </summary>
public sealed class ClaimsFactory(RealNameService realNames, IOptions<VerificationOptions> verification, TimeProvider clock)
{
    public const string VerifiedClaimsType = "verified_claims";

    /// <summary>RFC 8693 section 4.1: the party acting (here: the person, for the enterprise named by <see cref="HubClaims.Enterprise"/>).</summary>
    public const string ActorType = "act";

    /// <summary>The enterprise id the person acts for, inside IdentityHub's own tokens only (re-checked at every token request).</summary>
    public const string ActingForPrivateClaim = "ih_acting_for";

    public async Task<ClaimsIdentity> CreateUserIdentityAsync(ApplicationUser user, ImmutableArray<string> scopes, SessionFacts session,
        IEnumerable<string> resources, ClientPolicy client, string subject, ClaimsRequest? claimsRequest, ActingFor? acting,
        CancellationToken cancellationToken) =>
        CreateUserIdentity(await realNames.LoadPersonAsync(user, cancellationToken), scopes, session, resources, client, subject,
            claimsRequest, acting);

    /// <summary>The same, for a person already loaded with the real-name record and evidence (<see cref="GrantSubjects"/>).</summary>
    public ClaimsIdentity CreateUserIdentity(Person person, ImmutableArray<string> scopes, SessionFacts session,
        IEnumerable<string> resources, ClientPolicy client, string subject, ClaimsRequest? claimsRequest, ActingFor? acting)
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

        foreach (var (type, value, valueType) in ReleasedClaims(person, scopes, client.Claims, claimsRequest?.IdToken))
        {
            identity.AddClaim(new Claim(type, value, valueType));
        }

        if (Verified(claimsRequest?.IdToken, person, client) is { } verified)
        {
            identity.AddClaim(new Claim(VerifiedClaimsType, verified.ToJsonString(), JsonClaimValueTypes.Json));
        }

        if (acting is not null && scopes.Contains(HubScopes.Enterprise) && client.Claims.ModeOf(ClaimCatalog.Enterprise) is var mode && mode != ReleaseMode.None)
        {
            identity.AddClaim(new Claim(HubClaims.Enterprise, JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["credit_code"] = mode == ReleaseMode.Masked ? Masking.KeepEnds(acting.CreditCode, 4, 4) : acting.CreditCode,
                ["name"] = acting.Name,
            }), JsonClaimValueTypes.Json));
            identity.AddClaim(new Claim(ActorType, JsonSerializer.Serialize(new Dictionary<string, string> { ["sub"] = subject, ["role"] = acting.Role }),
                JsonClaimValueTypes.Json));
            identity.AddClaim(new Claim(ActingForPrivateClaim, acting.EnterpriseId));
        }

        identity.SetScopes(scopes);
        identity.SetResources(resources);
        ClaimDestinations.Apply(identity, DestinationsOf);
        if (claimsRequest is not null)
        {
            // Codes and refresh tokens keep every claim; the access token carries the request only for userinfo.
            var carried = new Claim(ClaimsRequest.PrivateClaim, claimsRequest.ToJson());
            carried.SetDestinations(claimsRequest.UserInfo is null ? [] : [Destinations.AccessToken]);
            identity.AddClaim(carried);
        }

        return identity;
    }

    /// <summary>
    /// A client acting on its own behalf (client_credentials, RFC 6749 section 4.4). Static: it needs nothing of the person's
    /// services, so the token endpoint's most frequent grant builds none of them (Handlers/SignInClientCredentials).
    /// </summary>
    public static ClaimsIdentity CreateClientIdentity(string clientId, string? displayName, ImmutableArray<string> scopes, IEnumerable<string> resources)
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

    /// <summary>
    /// The userinfo response (OIDC Core section 5.3.2): sub plus the released claims of the granted scopes and of the
    /// claims request's userinfo member, and its verified_claims. Written by <see cref="UserInfoAnswer.WriteTo"/>.
    /// </summary>
    public UserInfoAnswer CreateUserInfo(Person person, ImmutableArray<string> scopes, ClientPolicy client,
        string subject, ClaimsRequest? claimsRequest)
    {
        var claims = new List<(string Type, string Value, string ValueType)>();
        foreach (var claim in ReleasedClaims(person, scopes, client.Claims, claimsRequest?.UserInfo))
        {
            // One member per name (a later value replaces an earlier one, as a JSON object's member would).
            var index = claims.FindIndex(c => c.Type == claim.Type);
            if (index >= 0)
            {
                claims[index] = claim;
            }
            else if (claim.Type != Claims.Subject)
            {
                claims.Add(claim);
            }
        }

        return new UserInfoAnswer(subject, claims, Verified(claimsRequest?.UserInfo, person, client));
    }

    /// <summary>Which claims (and in which form) a policy releases for the granted scopes: for the consent page.</summary>
    public static IEnumerable<(ReleasableClaim Claim, ReleaseMode Mode)> Releasable(ImmutableArray<string> scopes, ClaimReleasePolicy policy) =>
        ClaimCatalog.All.Where(c => scopes.Contains(c.Scope) && policy.ModeOf(c.Key) != ReleaseMode.None)
            .Select(c => (c, policy.ModeOf(c.Key)));

    /// <summary>The scopes' claims plus those the claims request names individually (the enterprise claim comes only with an acting context).</summary>
    private IEnumerable<(string Type, string Value, string ValueType)> ReleasedClaims(Person person, ImmutableArray<string> scopes,
        ClaimReleasePolicy policy, ClaimsRequestTarget? requested)
    {
        var names = requested?.Claims ?? [];
        return ClaimCatalog.All
            .Where(c => c.Key != ClaimCatalog.Enterprise && policy.ModeOf(c.Key) != ReleaseMode.None)
            .Where(c => scopes.Contains(c.Scope) || c.ClaimTypes.Any(names.Contains))
            .SelectMany(c => PersonClaims.Values(person, c.Key, policy.ModeOf(c.Key), realNames.RevealIdNumber));
    }

    private System.Text.Json.Nodes.JsonNode? Verified(ClaimsRequestTarget? target, Person person, ClientPolicy client) =>
        VerifiedClaims.Build(target, person, client.Claims, verification.Value.TrustFramework, clock.GetUtcNow(), realNames.RevealIdNumber);

    private static readonly ClaimDestinations.Set AccessAndIdentityTokens =
        new(OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken);

    private static readonly ClaimDestinations.Set IdentityTokenOnly = new(OpenIddictConstants.Destinations.IdentityToken);

    private static readonly ClaimDestinations.Set NoToken = new();

    private static ClaimDestinations.Set DestinationsOf(Claim claim) => claim.Type switch
    {
        // sub is placed by OpenIddict in every token; sid lets APIs and logout tie a token to its session.
        Claims.Subject => AccessAndIdentityTokens,
        HubClaims.SessionId => AccessAndIdentityTokens,
        HubClaims.AuthenticationTime or HubClaims.AuthenticationMethod or Claims.AuthenticationContextReference
            => IdentityTokenOnly,
        // Whom the person acts for, and as whom: department APIs authorise on it, so the access token carries it too.
        HubClaims.Enterprise or ActorType => AccessAndIdentityTokens,
        VerifiedClaimsType => IdentityTokenOnly,
        // Released personal claims: only what the policy let through was added to the identity.
        _ when ClaimCatalog.ClaimTypes.Contains(claim.Type) => IdentityTokenOnly,
        // Everything else stays inside the server (authorization codes and refresh tokens are encrypted).
        _ => NoToken,
    };
}

/// <summary>A userinfo response: the sub, the released claims in catalog order, and verified_claims (or null).</summary>
public sealed record UserInfoAnswer(string Subject, IReadOnlyList<(string Type, string Value, string ValueType)> Claims,
    System.Text.Json.Nodes.JsonNode? VerifiedClaims)
{
    /// <summary>The claim names of the response (sub first, then the released claims, then verified_claims), for the audit.</summary>
    public IEnumerable<string> Names
    {
        get
        {
            yield return OpenIddictConstants.Claims.Subject;
            foreach (var claim in Claims)
            {
                yield return claim.Type;
            }

            if (VerifiedClaims is not null)
            {
                yield return ClaimsFactory.VerifiedClaimsType;
            }
        }
    }

    /// <summary>The JSON object, written once (no intermediate dictionary or serialiser metadata); booleans as JSON booleans.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString(OpenIddictConstants.Claims.Subject, Subject);
        foreach (var (type, value, valueType) in Claims)
        {
            if (valueType == ClaimValueTypes.Boolean)
            {
                writer.WriteBoolean(type, bool.Parse(value));
            }
            else
            {
                writer.WriteString(type, value);
            }
        }

        if (VerifiedClaims is not null)
        {
            writer.WritePropertyName(ClaimsFactory.VerifiedClaimsType);
            VerifiedClaims.WriteTo(writer);
        }

        writer.WriteEndObject();
    }
}
