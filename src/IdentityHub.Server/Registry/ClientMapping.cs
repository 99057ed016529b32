using System.Globalization;
using System.Text.Json;
using IdentityHub.Server.Oidc;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>What the API and the console show of a client (never a secret).</summary>
public sealed record ClientResponse(
    string ClientId,
    string? DepartmentCode,
    string DisplayName,
    string? DisplayNameEn,
    string Kind,
    string ClientType,
    string Status,
    string[] GrantTypes,
    string[] RedirectUris,
    string[] PostLogoutRedirectUris,
    string? BackChannelLogoutUri,
    string[] Scopes,
    string ConsentMode,
    string SubjectType,
    TokenLifetimes Lifetimes,
    JsonElement? Jwks,
    Dictionary<string, string> ClaimPolicy,
    int MinimumAssuranceLevel,
    DateTime CreatedAtUtc,
    DateTime UpdatedAtUtc,
    string? FrontChannelLogoutUri = null,
    bool RequireMultiFactor = false,
    string? IdTokenSignedResponseAlg = null,
    string? AccessTokenSignedResponseAlg = null,
    bool IdTokenOnRefresh = false)
{
    /// <summary>The same client as a registration request: the export and import format.</summary>
    public ClientRegistrationRequest ToRequest() => new(ClientId, DepartmentCode, DisplayName, null, GrantTypes, RedirectUris,
        PostLogoutRedirectUris, Scopes, Kind, DisplayNameEn, BackChannelLogoutUri, ConsentMode, SubjectType, Lifetimes, Jwks,
        ClaimPolicy, MinimumAssuranceLevel, FrontChannelLogoutUri, RequireMultiFactor, IdTokenSignedResponseAlg, AccessTokenSignedResponseAlg,
        IdTokenOnRefresh ? true : null);
}

/// <summary>Translates between the registry's settings and OpenIddict's application fields.</summary>
public static class ClientMapping
{
    public static OpenIddictApplicationDescriptor ToDescriptor(ClientSettings settings)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = settings.ClientId,
            DisplayName = settings.DisplayName,
            ClientType = settings.ClientType,
            ConsentType = settings.ConsentType,
            JsonWebKeySet = settings.Jwks is null ? null : new JsonWebKeySet(settings.Jwks),
        };
        if (settings.DisplayNameEn is { Length: > 0 } english)
        {
            descriptor.DisplayNames[CultureInfo.GetCultureInfo("en")] = english;
        }

        descriptor.Permissions.Add(Permissions.Endpoints.Token);
        descriptor.Permissions.Add(Permissions.Endpoints.Revocation);
        if (settings.Kind != ClientKind.Public)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
        }

        if (settings.GrantTypes.Contains(GrantTypes.AuthorizationCode))
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Authorization);
            descriptor.Permissions.Add(Permissions.Endpoints.PushedAuthorization);
            descriptor.Permissions.Add(Permissions.Endpoints.EndSession);
            descriptor.Permissions.Add(Permissions.ResponseTypes.Code);
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }

        foreach (var grant in settings.GrantTypes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + grant);
        }

        foreach (var scope in settings.Scopes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }

        foreach (var uri in settings.RedirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }

        foreach (var uri in settings.PostLogoutRedirectUris)
        {
            descriptor.PostLogoutRedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }

        // OpenIddict reads per-client lifetimes from the application's settings.
        AddLifetime(descriptor, Settings.TokenLifetimes.AccessToken, settings.Lifetimes.AccessTokenSeconds);
        AddLifetime(descriptor, Settings.TokenLifetimes.IdentityToken, settings.Lifetimes.IdentityTokenSeconds);
        AddLifetime(descriptor, Settings.TokenLifetimes.RefreshToken, settings.Lifetimes.RefreshTokenSeconds);

        // The signing paths read the client's algorithms from its settings (TokenSigning.Of); absent: the server's default.
        // The descriptor is the whole settings dictionary (PopulateAsync replaces it), so an update without them removes them.
        AddSetting(descriptor, TokenSigning.IdTokenSetting, settings.IdTokenSignedResponseAlg);
        AddSetting(descriptor, TokenSigning.AccessTokenSetting, settings.AccessTokenSignedResponseAlg);
        // Whether its refreshes return an ID token (RefreshIdTokens); absent: they do not.
        AddSetting(descriptor, RefreshIdTokens.Setting, settings.IdTokenOnRefresh ? "true" : null);
        return descriptor;
    }

    public static ClientResponse ToResponse(HubApplication application, string? departmentCode)
    {
        var permissions = Strings(application.Permissions);
        var settings = string.IsNullOrEmpty(application.Settings)
            ? new Dictionary<string, string>()
            : JsonSerializer.Deserialize<Dictionary<string, string>>(application.Settings) ?? [];
        var signing = TokenSigning.Of(application.Settings);
        var names = string.IsNullOrEmpty(application.DisplayNames)
            ? new Dictionary<string, string>()
            : JsonSerializer.Deserialize<Dictionary<string, string>>(application.DisplayNames) ?? [];
        return new ClientResponse(
            application.ClientId!,
            departmentCode,
            application.DisplayName ?? application.ClientId!,
            names.GetValueOrDefault("en"),
            application.Kind.ToString().ToLowerInvariant(),
            application.ClientType ?? ClientTypes.Confidential,
            application.Status.ToString().ToLowerInvariant(),
            WithPrefix(permissions, Permissions.Prefixes.GrantType),
            Strings(application.RedirectUris),
            Strings(application.PostLogoutRedirectUris),
            application.BackChannelLogoutUri,
            WithPrefix(permissions, Permissions.Prefixes.Scope),
            application.ConsentType ?? ConsentTypes.Implicit,
            application.SubjectType.ToString().ToLowerInvariant(),
            new TokenLifetimes(Seconds(settings, Settings.TokenLifetimes.AccessToken), Seconds(settings, Settings.TokenLifetimes.IdentityToken),
                Seconds(settings, Settings.TokenLifetimes.RefreshToken)),
            string.IsNullOrEmpty(application.JsonWebKeySet) ? null : JsonDocument.Parse(application.JsonWebKeySet).RootElement.Clone(),
            ClaimReleasePolicy.FromJson(application.ClaimPolicy).ToDictionary(),
            application.MinimumAssuranceLevel,
            application.CreatedAtUtc,
            application.UpdatedAtUtc,
            application.FrontChannelLogoutUri,
            application.RequireMultiFactor,
            signing.IdToken,
            signing.AccessToken,
            RefreshIdTokens.Of(settings));
    }

    private static void AddLifetime(OpenIddictApplicationDescriptor descriptor, string key, int? seconds)
    {
        if (seconds is int value)
        {
            descriptor.Settings[key] = TimeSpan.FromSeconds(value).ToString("c", CultureInfo.InvariantCulture);
        }
    }

    private static void AddSetting(OpenIddictApplicationDescriptor descriptor, string key, string? value)
    {
        if (value is not null)
        {
            descriptor.Settings[key] = value;
        }
    }

    private static int? Seconds(Dictionary<string, string> settings, string key) =>
        settings.TryGetValue(key, out var value) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) ? (int)span.TotalSeconds : null;

    private static string[] Strings(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];

    private static string[] WithPrefix(string[] permissions, string prefix) =>
        permissions.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p[prefix.Length..]).ToArray();
}
