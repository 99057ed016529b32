using System.Text.Json;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The algorithms a client registered for the tokens it and its APIs read, kept in the OpenIddict application's settings
/// (<see cref="TokenSigning.IdTokenSetting"/>, <see cref="TokenSigning.AccessTokenSetting"/>); null: the server's default,
/// Oidc:SigningAlgorithm.
/// </summary>
public sealed record ClientSigning(string? IdToken, string? AccessToken)
{
    public static readonly ClientSigning Default = new(null, null);

    /// <summary>The algorithm registered for a token of this type (ID token or access token); null for any other type.</summary>
    public string? For(string? tokenType) => tokenType switch
    {
        TokenTypeIdentifiers.IdentityToken => IdToken,
        TokenTypeIdentifiers.AccessToken => AccessToken,
        _ => null,
    };
}

/// <summary>
/// Which key signs the tokens that others verify with the published JWKS: ID tokens, access tokens and logout tokens.
/// The server signs with its default algorithm (Oidc:SigningAlgorithm, RS256 unless configured) unless the client
/// registered another:
/// <list type="bullet">
/// <item><c>id_token_signed_response_alg</c> (OpenID Connect Dynamic Client Registration 1.0 section 2) for its ID tokens,
/// and so for its logout tokens too (OpenID Connect Back-Channel Logout 1.0 section 2.4: "the same keys ... as are used for
/// ID Tokens");</item>
/// <item><c>access_token_signed_response_alg</c> (as Keycloak names it) for the access tokens issued to it. RFC 9068
/// section 2.1 requires RS256 to be supported by the server and by resource servers, which it stays, not that every token
/// use it.</item>
/// </list>
/// A signing key of each offered algorithm must be loaded (Oidc:SigningCertificates, or the database keys for the default
/// algorithm); JWKS publishes them all, and discovery's id_token_signing_alg_values_supported lists their algorithms.
/// Authorization codes and refresh tokens, which only this server reads, keep their symmetric keys
/// (<see cref="ServerOnlyTokenKeys"/>).
/// </summary>
public static class TokenSigning
{
    /// <summary>The application setting holding the client's id_token_signed_response_alg.</summary>
    public const string IdTokenSetting = "hub:id_token_signed_response_alg";

    /// <summary>The application setting holding the client's access_token_signed_response_alg.</summary>
    public const string AccessTokenSetting = "hub:access_token_signed_response_alg";

    /// <summary>
    /// The algorithms a client may register (RFC 7518 sections 3.3 and 3.4). Both hash with SHA-256, which OpenIddict's
    /// AttachTokenDigests uses for at_hash/c_hash whatever key signs the ID token (it takes the first asymmetric key's
    /// algorithm); an algorithm of another hash size (ES384, PS512 ...) would need that digest chosen by the ID token's key.
    /// </summary>
    public static readonly IReadOnlyList<string> Algorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    /// <summary>
    /// The credentials that sign public tokens with <paramref name="algorithm"/>: the first of that algorithm in OpenIddict's
    /// list, which holds the key that signs now before the others (the database ring's order; X.509 keys valid now before
    /// those not yet valid, then the one expiring last first); null when no key of it is loaded.
    /// </summary>
    public static SigningCredentials? Find(OpenIddictServerOptions options, string algorithm) =>
        options.SigningCredentials.Find(c => c.Key is AsymmetricSecurityKey && string.Equals(c.Algorithm, algorithm, StringComparison.Ordinal)
                                             && !PublishedOnly.TryGetValue(c.Key, out _));

    /// <summary>
    /// Keys that are published (and validate the tokens they signed) but sign nothing new: the database keys other than
    /// the one that signs now, retired or not yet active (<see cref="Keys.SigningKeyRing"/> marks them). A key of another
    /// algorithm than the ring's is signed with only when it is a configured certificate.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SecurityKey, object> PublishedOnly = [];

    /// <summary>Marks a key as published only, or (<paramref name="signs"/>) as one that may sign.</summary>
    public static void MarkSigns(SecurityKey key, bool signs)
    {
        if (signs)
        {
            PublishedOnly.Remove(key);
        }
        else
        {
            PublishedOnly.AddOrUpdate(key, PublishedOnly);
        }
    }

    /// <summary>
    /// The credentials for a token of a client that registered <paramref name="registered"/> (null: the server's
    /// <paramref name="defaultAlgorithm"/>, or, should no key of it be loaded, the first asymmetric key as OpenIddict chooses
    /// it). Null when the client registered an algorithm the server has no key for: such a token must not be issued with
    /// another algorithm (OpenID Connect Dynamic Client Registration 1.0 section 2: the ID token "MUST" use it).
    /// </summary>
    public static SigningCredentials? For(OpenIddictServerOptions options, string defaultAlgorithm, string? registered) =>
        registered is not null
            ? Find(options, registered)
            : Find(options, defaultAlgorithm) ?? options.SigningCredentials.Find(c => c.Key is AsymmetricSecurityKey && !PublishedOnly.TryGetValue(c.Key, out _));

    /// <summary>Whether the server can sign with <paramref name="algorithm"/> now (a key of it is loaded).</summary>
    public static bool CanSign(OpenIddictServerOptions options, string algorithm) => Find(options, algorithm) is not null;

    /// <summary>The algorithms the server can sign public tokens with now, in the options' order.</summary>
    public static IReadOnlyList<string> Available(OpenIddictServerOptions options) =>
        Algorithms.Where(a => CanSign(options, a)).ToArray();

    /// <summary>
    /// The algorithms of the request's client, for OpenIddict's handlers (<see cref="Handlers.RefuseUnsignableSignIn"/> before
    /// the sign-in, <see cref="Handlers.ProtectServerOnlyTokens"/> per token), from <see cref="ClientOfRequestAsync"/>. The
    /// default when there is no client or no HTTP request.
    /// </summary>
    public static async ValueTask<ClientSigning> OfClientAsync(OpenIddictServerTransaction transaction, string? clientId,
        CancellationToken cancellationToken) =>
        (await ClientOfRequestAsync(transaction, clientId, cancellationToken))?.Signing ?? ClientSigning.Default;

    /// <summary>
    /// The request's client as <see cref="ClientCache"/> holds it, read once per request and kept in the transaction's
    /// properties, so that every handler of one request (its signing algorithms, <see cref="RefreshIdTokens"/>) decides on the
    /// same snapshot even if the registry changes meanwhile. Null without a client, an HTTP request or such a client.
    /// </summary>
    public static async ValueTask<ClientSnapshot?> ClientOfRequestAsync(OpenIddictServerTransaction transaction, string? clientId,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(clientId) || transaction.GetHttpRequest()?.HttpContext.RequestServices is not { } services)
        {
            return null;
        }

        if (transaction.Properties.TryGetValue(TransactionProperty, out var kept) && kept is (string keptFor, var known)
            && keptFor == clientId)
        {
            return known as ClientSnapshot;
        }

        var snapshot = await services.GetRequiredService<ClientCache>().FindAsync(clientId, services, cancellationToken);
        transaction.Properties[TransactionProperty] = (clientId, snapshot);
        return snapshot;
    }

    private const string TransactionProperty = ".identityhub_request_client";

    /// <summary>What <see cref="Of"/> answers for settings that are not JSON: no key has this algorithm.</summary>
    public static readonly ClientSigning Unreadable = new("unreadable-settings", "unreadable-settings");

    /// <summary>The client's registered algorithms from an OpenIddict application's settings (JSON), as stored (the registry admits only <see cref="Algorithms"/>).</summary>
    public static ClientSigning Of(string? settings)
    {
        if (string.IsNullOrEmpty(settings) || !settings.Contains("hub:", StringComparison.Ordinal))
        {
            return ClientSigning.Default;
        }

        try
        {
            var values = JsonSerializer.Deserialize<Dictionary<string, string>>(settings);
            var idToken = values?.GetValueOrDefault(IdTokenSetting);
            var accessToken = values?.GetValueOrDefault(AccessTokenSetting);
            return idToken is null && accessToken is null ? ClientSigning.Default : new ClientSigning(idToken, accessToken);
        }
        catch (JsonException)
        {
            // Fail closed: settings that cannot be read give no token rather than one of the default algorithm, which the
            // client may not have registered (For finds no key for this name).
            return Unreadable;
        }
    }
}
