using System.Text.RegularExpressions;
using IdentityHub.Server.Api;
using IdentityHub.Server.Oidc;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>Body of POST /api/admin/clients.</summary>
public sealed record ClientRegistrationRequest(
    string? ClientId,
    string? DepartmentCode,
    string? DisplayName,
    string? ClientType,
    string[]? GrantTypes,
    string[]? RedirectUris,
    string[]? PostLogoutRedirectUris,
    string[]? Scopes);

public sealed record ClientRegistrationResponse(string ClientId, string? ClientSecret);

public static partial class ClientRegistrationRules
{
    public static readonly IReadOnlySet<string> SupportedGrantTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode,
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken,
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials,
    };

    public static void Validate(ClientRegistrationRequest request, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(request.ClientId) || !ClientIdPattern().IsMatch(request.ClientId))
        {
            errors.Add("clientId", "Required: 3 to 100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.");
        }

        if (string.IsNullOrWhiteSpace(request.DepartmentCode))
        {
            errors.Add("departmentCode", "Required.");
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName) || request.DisplayName.Length > 200)
        {
            errors.Add("displayName", "Required, at most 200 characters.");
        }

        var type = request.ClientType;
        if (type is not (ClientTypes.Confidential or ClientTypes.Public))
        {
            errors.Add("clientType", "Must be \"confidential\" or \"public\".");
        }

        var grants = request.GrantTypes ?? [];
        if (grants.Length == 0)
        {
            errors.Add("grantTypes", "At least one grant type is required.");
        }

        foreach (var grant in grants.Where(g => !SupportedGrantTypes.Contains(g)))
        {
            errors.Add("grantTypes", $"Unsupported grant type \"{grant}\": use authorization_code, refresh_token or client_credentials.");
        }

        var authorizationCode = grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode);
        if (grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken) && !authorizationCode)
        {
            errors.Add("grantTypes", "refresh_token needs authorization_code.");
        }

        if (type == ClientTypes.Public && grants.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials))
        {
            errors.Add("grantTypes", "A public client cannot use client_credentials (RFC 6749 section 4.4).");
        }

        var redirectUris = request.RedirectUris ?? [];
        if (authorizationCode && redirectUris.Length == 0)
        {
            errors.Add("redirectUris", "authorization_code needs at least one redirect URI.");
        }

        if (!authorizationCode && redirectUris.Length > 0)
        {
            errors.Add("redirectUris", "Redirect URIs are only for the authorization_code grant.");
        }

        ValidateUris("redirectUris", redirectUris, type == ClientTypes.Public, errors);
        ValidateUris("postLogoutRedirectUris", request.PostLogoutRedirectUris ?? [], type == ClientTypes.Public, errors);

        foreach (var scope in request.Scopes ?? [])
        {
            if (!HubScopes.Known.Contains(scope))
            {
                errors.Add("scopes", $"Unknown scope \"{scope}\".");
            }
        }

        // An administration scope on an interactive client would hand administration tokens to any
        // citizen who signs in there: it belongs to machine clients only.
        if ((request.Scopes ?? []).Contains(HubScopes.Admin) && authorizationCode)
        {
            errors.Add("scopes", $"\"{HubScopes.Admin}\" is only for client_credentials clients.");
        }
    }

    /// <summary>
    /// Redirect URIs are compared exactly at the authorization endpoint (RFC 9700 section 4.1.3), so
    /// here they must be absolute, without fragment (RFC 6749 section 3.1.2) or wildcard, and https;
    /// plain http only on a loopback host (RFC 8252 section 7.3), and a private-use scheme
    /// (reverse domain name, RFC 8252 section 7.1) only for public native apps.
    /// </summary>
    private static void ValidateUris(string field, string[] uris, bool publicClient, FieldErrors errors)
    {
        for (var i = 0; i < uris.Length; i++)
        {
            var value = uris[i];
            var name = $"{field}[{i}]";
            if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
            {
                errors.Add(name, "Must be an absolute URI.");
                continue;
            }

            if (!string.IsNullOrEmpty(uri.Fragment) || value.Contains('#'))
            {
                errors.Add(name, "Must not contain a fragment.");
            }

            if (value.Contains('*'))
            {
                errors.Add(name, "Wildcards are not allowed: URIs are matched exactly.");
            }

            var loopback = uri.Host is "localhost" || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
            var ok = uri.Scheme switch
            {
                "https" => true,
                "http" => loopback,
                _ => publicClient && uri.Scheme.Contains('.'),
            };
            if (!ok)
            {
                errors.Add(name, "Must use https (http only on a loopback host; a private-use scheme only for public native apps).");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{2,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClientIdPattern();
}
