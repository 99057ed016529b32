using System.Text.Json;
using System.Text.RegularExpressions;
using IdentityHub.Server.Api;
using IdentityHub.Server.Oidc;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Body of POST /api/admin/clients and PUT /api/admin/clients/{clientId}. <c>kind</c> (web, public,
/// machine) may replace <c>clientType</c> and <c>grantTypes</c>, which are then derived from it.
/// <c>idTokenSignedResponseAlg</c> / <c>accessTokenSignedResponseAlg</c> (RS256 or ES256; null: the server's default,
/// Oidc:SigningAlgorithm) are the client's token signing algorithms (<see cref="TokenSigning"/>). <c>idTokenOnRefresh</c>
/// (default false) makes its refreshes return an ID token too (<see cref="RefreshIdTokens"/>).
/// </summary>
public sealed record ClientRegistrationRequest(
    string? ClientId,
    string? DepartmentCode,
    string? DisplayName,
    string? ClientType,
    string[]? GrantTypes,
    string[]? RedirectUris,
    string[]? PostLogoutRedirectUris,
    string[]? Scopes,
    string? Kind = null,
    string? DisplayNameEn = null,
    string? BackChannelLogoutUri = null,
    string? ConsentMode = null,
    string? SubjectType = null,
    TokenLifetimes? Lifetimes = null,
    JsonElement? Jwks = null,
    Dictionary<string, string>? ClaimPolicy = null,
    int? MinimumAssuranceLevel = null,
    string? FrontChannelLogoutUri = null,
    bool? RequireMultiFactor = null,
    string? IdTokenSignedResponseAlg = null,
    string? AccessTokenSignedResponseAlg = null,
    bool? IdTokenOnRefresh = null);

/// <summary>Per-client token lifetimes in seconds; null means the server default (Oidc:*Lifetime).</summary>
public sealed record TokenLifetimes(int? AccessTokenSeconds = null, int? IdentityTokenSeconds = null, int? RefreshTokenSeconds = null);

public sealed record ClientRegistrationResponse(string ClientId, string? ClientSecret, DateTime? ClientSecretExpiresAtUtc = null);

/// <summary>A registration request after validation: every field present and consistent.</summary>
public sealed record ClientSettings(
    string ClientId,
    string DepartmentCode,
    string DisplayName,
    string? DisplayNameEn,
    ClientKind Kind,
    IReadOnlyList<string> GrantTypes,
    IReadOnlyList<string> RedirectUris,
    IReadOnlyList<string> PostLogoutRedirectUris,
    IReadOnlyList<string> Scopes,
    string? BackChannelLogoutUri,
    string ConsentType,
    SubjectType SubjectType,
    TokenLifetimes Lifetimes,
    string? Jwks,
    ClaimReleasePolicy? ClaimPolicy,
    int? MinimumAssuranceLevel,
    string? FrontChannelLogoutUri = null,
    bool? RequireMultiFactor = null,
    string? IdTokenSignedResponseAlg = null,
    string? AccessTokenSignedResponseAlg = null,
    bool IdTokenOnRefresh = false)
{
    public string ClientType => Kind == ClientKind.Public ? ClientTypes.Public : ClientTypes.Confidential;
}

public static partial class ClientRegistrationRules
{
    public static readonly IReadOnlySet<string> SupportedGrantTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode,
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken,
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials,
    };

    /// <summary>Validates a request; returns the settings when it is valid, null (and field errors) otherwise.</summary>
    public static ClientSettings? Validate(ClientRegistrationRequest request, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(request.ClientId) || !ClientIdPattern().IsMatch(request.ClientId))
        {
            errors.Add("clientId", new(RegistryCodes.ClientIdFormat));
        }

        if (string.IsNullOrWhiteSpace(request.DepartmentCode))
        {
            errors.Add("departmentCode", new(RegistryCodes.Required));
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName) || request.DisplayName.Length > 200)
        {
            errors.Add("displayName", new(RegistryCodes.RequiredMax, 200));
        }

        if (request.DisplayNameEn is { Length: > 200 })
        {
            errors.Add("displayNameEn", new(RegistryCodes.MaxLength, 200));
        }

        var kind = ResolveKind(request, errors);
        if (request.Kind is null && request.GrantTypes is not { Length: > 0 })
        {
            // Without a kind there is nothing to derive the grants from.
            errors.Add("grantTypes", new(RegistryCodes.GrantTypesRequired));
        }

        var grants = (request.GrantTypes is { Length: > 0 } given ? given : DefaultGrants(kind)).Distinct(StringComparer.Ordinal).ToArray();
        ValidateGrants(kind, grants, errors);

        var authorizationCode = grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode);
        var redirectUris = request.RedirectUris ?? [];
        if (authorizationCode && redirectUris.Length == 0)
        {
            errors.Add("redirectUris", new(RegistryCodes.RedirectUrisRequired));
        }

        if (!authorizationCode && redirectUris.Length > 0)
        {
            errors.Add("redirectUris", new(RegistryCodes.RedirectUrisOnlyForCode));
        }

        var isPublic = kind == ClientKind.Public;
        ClientUris.Validate("redirectUris", redirectUris, isPublic, errors);
        ClientUris.Validate("postLogoutRedirectUris", request.PostLogoutRedirectUris ?? [], isPublic, errors);
        if (request.BackChannelLogoutUri is not null)
        {
            // OIDC Back-Channel Logout 1.0 section 2.2: an absolute URI, https except loopback, no fragment.
            ClientUris.Validate("backChannelLogoutUri", [request.BackChannelLogoutUri], publicClient: false, errors);
            if (!authorizationCode)
            {
                errors.Add("backChannelLogoutUri", new(RegistryCodes.BackChannelOnlyForSignIn));
            }
        }

        if (request.FrontChannelLogoutUri is not null)
        {
            // OIDC Front-Channel Logout 1.0 section 2: an absolute URI the OP loads in an iframe; https except loopback.
            ClientUris.Validate("frontChannelLogoutUri", [request.FrontChannelLogoutUri], publicClient: false, errors);
            if (!authorizationCode)
            {
                errors.Add("frontChannelLogoutUri", new(RegistryCodes.BackChannelOnlyForSignIn));
            }
        }

        ValidateScopes(request.Scopes ?? [], errors);
        var consentType = request.ConsentMode?.ToLowerInvariant() switch
        {
            null or ConsentTypes.Implicit => ConsentTypes.Implicit,
            ConsentTypes.Explicit => ConsentTypes.Explicit,
            _ => Error(errors, "consentMode", new(RegistryCodes.ConsentModeValues)),
        };
        var subjectType = SubjectType.Pairwise;
        switch (request.SubjectType?.ToLowerInvariant())
        {
            case null or "pairwise":
                break;
            case "public":
                subjectType = SubjectType.Public;
                break;
            default:
                errors.Add("subjectType", new(RegistryCodes.SubjectTypeValues));
                break;
        }

        var lifetimes = request.Lifetimes ?? new TokenLifetimes();
        ValidateLifetime("lifetimes.accessTokenSeconds", lifetimes.AccessTokenSeconds, 60, 86_400, errors);
        ValidateLifetime("lifetimes.identityTokenSeconds", lifetimes.IdentityTokenSeconds, 60, 86_400, errors);
        ValidateLifetime("lifetimes.refreshTokenSeconds", lifetimes.RefreshTokenSeconds, 300, 90 * 86_400, errors);
        var jwks = ClientKeys.Validate(request.Jwks, isPublic, errors);
        var policy = request.ClaimPolicy is null ? null : ClaimReleasePolicy.Parse(request.ClaimPolicy, "claimPolicy", errors);
        ValidateSigningAlgorithm("idTokenSignedResponseAlg", request.IdTokenSignedResponseAlg, errors);
        ValidateSigningAlgorithm("accessTokenSignedResponseAlg", request.AccessTokenSignedResponseAlg, errors);
        if (request.IdTokenSignedResponseAlg is not null && !authorizationCode)
        {
            // Only the authorization code flow issues ID tokens (and logout tokens, signed as the ID tokens are).
            errors.Add("idTokenSignedResponseAlg", new(RegistryCodes.IdTokenAlgorithmOnlyForSignIn));
        }

        if (request.IdTokenOnRefresh == true && !authorizationCode)
        {
            errors.Add("idTokenOnRefresh", new(RegistryCodes.IdTokenOnRefreshOnlyForSignIn));
        }

        if (request.MinimumAssuranceLevel is < 1 or > 4)
        {
            errors.Add("minimumAssuranceLevel", new(RegistryCodes.AssuranceLevelRange));
        }

        if (errors.Any)
        {
            return null;
        }

        return new ClientSettings(request.ClientId!, request.DepartmentCode!, request.DisplayName!.Trim(), request.DisplayNameEn?.Trim(), kind,
            grants, redirectUris, request.PostLogoutRedirectUris ?? [], (request.Scopes ?? []).Distinct(StringComparer.Ordinal).ToArray(),
            request.BackChannelLogoutUri, consentType!, subjectType, lifetimes, jwks, policy, request.MinimumAssuranceLevel,
            request.FrontChannelLogoutUri, request.RequireMultiFactor, request.IdTokenSignedResponseAlg, request.AccessTokenSignedResponseAlg,
            request.IdTokenOnRefresh == true);
    }

    private static ClientKind ResolveKind(ClientRegistrationRequest request, FieldErrors errors)
    {
        if (request.Kind is not null)
        {
            if (!Enum.TryParse<ClientKind>(request.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(request.Kind, out _))
            {
                errors.Add("kind", new(RegistryCodes.KindValues));
                return ClientKind.Web;
            }

            var expectedType = kind == ClientKind.Public ? ClientTypes.Public : ClientTypes.Confidential;
            if (request.ClientType is not null && request.ClientType != expectedType)
            {
                errors.Add("clientType", new(RegistryCodes.KindClientType, request.Kind, expectedType));
            }

            return kind;
        }

        switch (request.ClientType)
        {
            case ClientTypes.Public:
                return ClientKind.Public;
            case ClientTypes.Confidential:
                var grants = request.GrantTypes ?? [];
                return grants.Length > 0 && grants.All(g => g == OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials)
                    ? ClientKind.Machine
                    : ClientKind.Web;
            default:
                errors.Add("clientType", new(RegistryCodes.ClientTypeValues));
                return ClientKind.Web;
        }
    }

    private static string[] DefaultGrants(ClientKind kind) => kind == ClientKind.Machine
        ? [OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials]
        : [OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode, OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken];

    private static void ValidateGrants(ClientKind kind, string[] grants, FieldErrors errors)
    {
        foreach (var grant in grants.Where(g => !SupportedGrantTypes.Contains(g)))
        {
            errors.Add("grantTypes", new(RegistryCodes.UnsupportedGrant, grant));
        }

        var clientCredentials = grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials);
        if (grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken)
            && !grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode))
        {
            errors.Add("grantTypes", new(RegistryCodes.RefreshNeedsCode));
        }

        if (kind == ClientKind.Public && clientCredentials)
        {
            errors.Add("grantTypes", new(RegistryCodes.PublicNoClientCredentials));
        }
        else if (kind == ClientKind.Machine && grants.Any(g => g != OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials))
        {
            errors.Add("grantTypes", new(RegistryCodes.MachineClientCredentialsOnly));
        }
        // A web app may also call APIs for itself (client_credentials), as the provider allowed before kinds existed.
    }

    private static void ValidateScopes(string[] scopes, FieldErrors errors)
    {
        foreach (var scope in scopes)
        {
            if (scope == HubScopes.Admin)
            {
                errors.Add("scopes", new(RegistryCodes.ReservedScope, HubScopes.Admin));
            }
            else if (!HubScopes.Known.Contains(scope))
            {
                errors.Add("scopes", new(RegistryCodes.UnknownScope, scope, string.Join(", ", HubScopes.Known.Where(s => s != HubScopes.Admin))));
            }
        }
    }

    private static void ValidateLifetime(string field, int? seconds, int min, int max, FieldErrors errors)
    {
        if (seconds is not null && (seconds < min || seconds > max))
        {
            errors.Add(field, new(RegistryCodes.LifetimeRange, min, max));
        }
    }

    /// <summary>JWA names (RFC 7518 section 3.1) are case-sensitive: "es256" is no algorithm.</summary>
    private static void ValidateSigningAlgorithm(string field, string? algorithm, FieldErrors errors)
    {
        if (algorithm is not null && !TokenSigning.Algorithms.Contains(algorithm, StringComparer.Ordinal))
        {
            errors.Add(field, new(RegistryCodes.SigningAlgorithmValues, string.Join(", ", TokenSigning.Algorithms)));
        }
    }

    private static string? Error(FieldErrors errors, string field, RegistryMessage message)
    {
        errors.Add(field, message);
        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{2,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClientIdPattern();
}
