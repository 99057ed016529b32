using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc.Keys;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Scale;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using IdentityHub.Server.Oidc.Handlers;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

public static class OidcExtensions
{
    public static WebApplicationBuilder AddIdentityHubOidc(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OidcOptions>()
            .BindConfiguration(OidcOptions.Section)
            .Validate(o => o.SigningAlgorithm is "RS256" or "ES256", "Oidc:SigningAlgorithm must be RS256 or ES256.")
            .Validate(o => o.Issuer is null || o.Issuer.IsAbsoluteUri, "Oidc:Issuer must be an absolute URI.")
            .Validate(o => o.SigningKeys != SigningKeySource.Database
                    || (o.KeyRotation.PublishAhead > TimeSpan.Zero && o.KeyRotation.Interval > o.KeyRotation.PublishAhead
                        && o.KeyRotation.RefreshInterval > TimeSpan.Zero && o.KeyRotation.RefreshInterval < o.KeyRotation.PublishAhead
                        && o.KeyRotation.CheckInterval > TimeSpan.Zero && o.KeyRotation.CheckInterval < o.KeyRotation.PublishAhead),
                "Oidc:KeyRotation: Interval must exceed PublishAhead, and RefreshInterval and CheckInterval must be positive and shorter than " +
                "PublishAhead (every node must publish a new key before any signs with it).")
            .Validate(o => o.SigningKeys != SigningKeySource.Database || o.KeyRotation.EffectiveRetainFor(o) >= o.RefreshTokenLifetime,
                "Oidc:KeyRotation:RetainFor must be at least Oidc:RefreshTokenLifetime (refresh tokens are signed too).")
            .Validate(o => o.KeyRotation.RsaKeySize >= 2048, "Oidc:KeyRotation:RsaKeySize must be at least 2048.")
            .ValidateOnStart();

        var oidc = builder.Configuration.GetSection(OidcOptions.Section).Get<OidcOptions>() ?? new();
        var keys = ServerKeys.Load(oidc, builder.Environment);
        builder.Services.AddSingleton(keys);
        var serverOnly = ServerOnlyTokenKeys.Derive(keys.Encryption);
        builder.Services.AddSingleton(serverOnly);
        builder.Services.AddSingleton<DirectRefreshTokenReader>();

        // The data protection key ring (sign-in cookies, antiforgery) is encrypted at rest with the
        // encryption certificate; every configured one can still decrypt keys written before a rotation.
        builder.Services.AddDataProtection()
            .ProtectKeysWithCertificate(keys.Encryption[0])
            .UnprotectKeysWithAnyCertificate([.. keys.Encryption]);
        builder.Services.AddSingleton<MetadataVersion>();
        builder.Services.TryAddSingleton<IClusterSignals, LocalClusterSignals>();
        var databaseKeys = oidc.SigningKeys == SigningKeySource.Database;
        if (databaseKeys)
        {
            // Keys generated, stored encrypted and rotated by the server; OpenIddict gets them from the ring.
            builder.Services.AddSingleton<SigningKeyStore>();
            builder.Services.AddSingleton<SigningKeyRing>();
            builder.Services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ConfigureSigningCredentials>();
            builder.Services.AddHostedService<KeyRotationService>();
        }

        builder.Services.AddScoped<ClaimsFactory>();
        builder.Services.AddScoped<GrantSubjects>();
        builder.Services.AddSingleton<GrantSubjectQueries>();
        // The refresh grant's token entries: lean reads and writes, conditional redemption (RefreshTokens/).
        builder.Services.AddRefreshGrantEntries();
        builder.Services.AddHostedService<TokenPruningService>();

        // Access tokens without token entries, and their revocation (Revocation/).
        builder.Services.AddSingleton<RevokedAccessTokens>();
        builder.Services.AddSingleton<AccessTokenRevocations>();
        builder.Services.AddHostedService<RevokedAccessTokenSync>();
        builder.Services.AddSingleton<RevokeSelfContainedAccessTokens.RequireTokenEntry>();
        builder.Services.AddScoped<SignInClientCredentials>();
        builder.Services.AddScoped<ClientCredentialsFastPath>();
        builder.Services.AddScoped<IntrospectionFastPath>();
        builder.Services.AddScoped<UserInfoFastPath>();
        builder.Services.AddScoped<RefreshTokenFastPath>();
        builder.Services.AddScoped<AuthorizationCodeFastPath>();
        builder.Services.AddSingleton<AuthorizationCodeFastPath.SkipReadCodeEntry>();
        builder.Services.PostConfigure<OpenIddictServerOptions>(options =>
        {
            // OpenIddict's RevokeToken needs a token entry: it now runs only for tokens that have one.
            ReplaceHandler(options, typeof(OpenIddictServerHandlers.Revocation.RevokeToken), RevokeSelfContainedAccessTokens.RevokeTokenEntriesOnly);

            // client_credentials is signed in inside OpenIddict; every other grant still passes through to TokenEndpoint.
            ReplaceHandler(options, SignInClientCredentials.Passthrough.ServiceDescriptor.ServiceType, SignInClientCredentials.Descriptor);

            // The code fast path validates a code's payload with OpenIddict's entry handlers skipped, having read the entry.
            AuthorizationCodeFastPath.FilterEntryHandlers(options);
        });

        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore()
                .UseDbContext<IdentityHubDbContext>()
                .ReplaceDefaultEntities<HubApplication, HubAuthorization, HubScope, HubToken, string>())
            .AddCore(core => core.ReplaceApplicationManager<HubApplication, HubApplicationManager>())
            .AddCore(core => core.ReplaceTokenManager<HubToken, HubTokenManager>())
            .AddServer(server =>
            {
                if (oidc.Issuer is not null)
                {
                    server.SetIssuer(oidc.Issuer);
                }

                server.SetAuthorizationEndpointUris("connect/authorize")
                    .SetPushedAuthorizationEndpointUris("connect/par")
                    .SetTokenEndpointUris("connect/token")
                    .SetUserInfoEndpointUris("connect/userinfo")
                    .SetIntrospectionEndpointUris("connect/introspect")
                    .SetRevocationEndpointUris("connect/revoke")
                    .SetEndSessionEndpointUris("connect/endsession")
                    .SetJsonWebKeySetEndpointUris(".well-known/jwks");

                server.AllowAuthorizationCodeFlow()
                    .AllowRefreshTokenFlow()
                    .AllowClientCredentialsFlow();

                // PKCE for every client, S256 only (RFC 7636 section 4.2; OAuth 2.0 Security BCP, RFC 9700
                // section 2.1.1). Removing "plain" also removes it from discovery.
                server.RequireProofKeyForCodeExchange();
                server.Configure(options => options.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));

                // Refresh tokens rotate on every use, and a redeemed refresh token presented again revokes
                // the whole grant at once, with no grace period (RFC 9700 section 4.14.2).
                server.SetRefreshTokenReuseLeeway(null);

                server.SetAccessTokenLifetime(oidc.AccessTokenLifetime)
                    .SetIdentityTokenLifetime(oidc.IdentityTokenLifetime)
                    .SetAuthorizationCodeLifetime(oidc.AuthorizationCodeLifetime)
                    .SetRefreshTokenLifetime(oidc.RefreshTokenLifetime);

                server.RegisterScopes([.. HubScopes.Known]);
                server.RegisterClaims(
                    Claims.Subject, Claims.Name, Claims.PreferredUsername, Claims.PhoneNumber, Claims.PhoneNumberVerified,
                    Claims.Email, Claims.EmailVerified, Claims.AuthenticationTime, Claims.AuthenticationMethodReference, Claims.AuthenticationContextReference, "sid");

                // Access tokens are plain signed JWTs (RFC 9068) so that department APIs validate them offline.
                server.DisableAccessTokenEncryption();

                // With database keys the ring adds them (ConfigureSigningCredentials), certificates included for validation.
                foreach (var credentials in databaseKeys ? [] : keys.SigningCredentials())
                {
                    server.AddSigningCredentials(credentials);
                }

                foreach (var certificate in keys.Encryption)
                {
                    server.AddEncryptionCertificate(certificate);
                }

                // Codes and refresh tokens: symmetric keys derived from the encryption certificates (ServerOnlyTokenKeys),
                // chosen per token type by ProtectServerOnlyTokens; RSA-protected ones issued before still validate.
                foreach (var key in serverOnly.SigningKeys)
                {
                    server.AddSigningKey(key);
                }

                // Decryption keys: the direct-encryption keys (512 bits: AddEncryptionKey assumes A256KW and its 256-bit
                // keys, so they are added as credentials with their own algorithm) and the key-wrap keys of older tokens.
                foreach (var key in serverOnly.EncryptionKeys)
                {
                    if (key.KeySize == 512)
                    {
                        server.AddEncryptionCredentials(new EncryptingCredentials(key, serverOnly.Encryption.Alg, serverOnly.Encryption.Enc));
                    }
                    else
                    {
                        server.AddEncryptionKey(key);
                    }
                }

                server.AddEventHandler(ProtectServerOnlyTokens.Descriptor);
                // A client whose registered signing algorithm has no key: refused before its code or refresh token is redeemed.
                server.AddEventHandler(RefuseUnsignableSignIn.Descriptor);
                server.AddEventHandler(OmitRefreshIdToken.Descriptor);
                // OpenIddict's endpoint inference, with the endpoint URIs resolved once per base URI (InferEndpointTypeOnce).
                server.RemoveEventHandler(OpenIddictServerHandlers.InferEndpointType.Descriptor);
                server.AddEventHandler(InferEndpointTypeOnce.Descriptor);
                // ... and only for them: a symmetric key validates no other token (ProtectServerOnlyTokens.AcceptsSigningKey).
                server.Configure(o =>
                {
                    o.TokenValidationParameters.ValidateIssuerSigningKey = true;
                    o.TokenValidationParameters.IssuerSigningKeyValidator = ProtectServerOnlyTokens.AcceptsSigningKey;
                });
                // A clean client_credentials success answered before OpenIddict's generic pipeline (Oidc:ClientCredentialsFastPath).
                server.AddEventHandler(ClientCredentialsFastPath.Descriptor);
                // An active access token introspected by its own client, answered likewise (Oidc:IntrospectionFastPath).
                server.AddEventHandler(IntrospectionFastPath.Descriptor);
                // A plain userinfo request with a valid bearer token, answered likewise (Oidc:UserinfoFastPath).
                server.AddEventHandler(UserInfoFastPath.Descriptor);
                // A plain refresh_token grant, checked before OpenIddict's generic pipeline and signed in by OpenIddict's own
                // sign-in (Oidc:RefreshTokenFastPath).
                server.AddEventHandler(RefreshTokenFastPath.Descriptor);
                // A plain authorization_code grant, answered likewise (Oidc:AuthorizationCodeFastPath).
                server.AddEventHandler(AuthorizationCodeFastPath.Descriptor);
                server.AddEventHandler(SkipAccessTokenEntries.Descriptor);
                // An authorization code's entry in one INSERT with its payload (OpenIddict: an INSERT, then an UPDATE).
                server.AddEventHandler(CodeEntryInOneInsert.Descriptor);
                server.AddEventHandler(CodeEntryInOneInsert.InsertDescriptor);
                server.AddEventHandler(RejectRevokedAccessTokens.Descriptor);
                // A token with cnf (never issued here) is invalid_token, not OpenIddict's proof-of-possession exception.
                server.AddEventHandler(RejectSenderConstrainedTokens.Descriptor);
                server.AddEventHandler(RevokeSelfContainedAccessTokens.Descriptor);

                server.AddEventHandler(AttachSupportedMetadata.Descriptor);
                server.AddEventHandler(RedirectValidationErrors.Descriptor);

                var aspNetCore = server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .EnableStatusCodePagesIntegration();

                if (builder.Environment.IsDevelopment())
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }
            })
            .AddValidation(validation =>
            {
                // The admin API accepts access tokens issued by this very server.
                validation.UseLocalServer();
                validation.UseAspNetCore();
                // The server pipeline's own refusals, in this separate pipeline too: revoked access tokens (in memory,
                // RevokedAccessTokens) and tokens with cnf (never issued here; OpenIddict would throw: a 500).
                validation.AddEventHandler(RejectRevokedAccessTokens.ValidationDescriptor);
                validation.AddEventHandler(RejectSenderConstrainedTokens.ValidationDescriptor);
            });

        if (oidc.LeanDispatcher)
        {
            // OpenIddict's events through a dispatcher that plans each event's handlers once (Oidc:LeanDispatcher).
            builder.Services.AddSingleton(new HubServerDispatcher.ServiceLifetimes(builder.Services));
            builder.Services.AddSingleton<HubServerDispatcher.Plans>();
            builder.Services.Replace(ServiceDescriptor.Scoped<IOpenIddictServerDispatcher, HubServerDispatcher>());
        }

        return builder;
    }

    /// <summary>
    /// With database signing keys: creates the first key if there is none and loads the ring, before the first request
    /// (OpenIddict needs a signing key to build its options). Runs after the migrations.
    /// </summary>
    public static async Task InitializeSigningKeysAsync(this WebApplication app)
    {
        if (app.Services.GetService<SigningKeyRing>() is not { } ring)
        {
            return;
        }

        await app.Services.GetRequiredService<SigningKeyStore>().RotateIfDueAsync(CancellationToken.None);
        await ring.RefreshAsync(CancellationToken.None);
        if (ring.Current.Count == 0)
        {
            throw new Hosting.StartupConfigurationException("No signing key could be loaded from the database.");
        }
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> in the place of OpenIddict's handler of type <paramref name="replaced"/>; fails
    /// at start-up when there is none (another OpenIddict version), rather than run without the replacement.
    /// </summary>
    private static void ReplaceHandler(OpenIddictServerOptions options, Type replaced, OpenIddictServerHandlerDescriptor replacement)
    {
        var index = options.Handlers.FindIndex(d => d.ServiceDescriptor.ServiceType == replaced);
        if (index < 0)
        {
            throw new InvalidOperationException($"OpenIddict has no handler {replaced.Name} to replace with {replacement.ServiceDescriptor.ServiceType.Name}.");
        }

        options.Handlers[index] = replacement;
    }
}
