using IdentityHub.Server.Data;
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
            .ValidateOnStart();

        var oidc = builder.Configuration.GetSection(OidcOptions.Section).Get<OidcOptions>() ?? new();
        var keys = ServerKeys.Load(oidc, builder.Environment);
        builder.Services.AddSingleton(keys);
        var serverOnly = ServerOnlyTokenKeys.Derive(keys.Encryption);
        builder.Services.AddSingleton(serverOnly);

        // The data protection key ring (sign-in cookies, antiforgery) is encrypted at rest with the
        // encryption certificate; every configured one can still decrypt keys written before a rotation.
        builder.Services.AddDataProtection()
            .ProtectKeysWithCertificate(keys.Encryption[0])
            .UnprotectKeysWithAnyCertificate([.. keys.Encryption]);
        builder.Services.AddScoped<ClaimsFactory>();
        builder.Services.AddHostedService<TokenPruningService>();

        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore()
                .UseDbContext<IdentityHubDbContext>()
                .ReplaceDefaultEntities<HubApplication, HubAuthorization, HubScope, HubToken, string>())
            .AddCore(core => core.ReplaceApplicationManager<HubApplication, HubApplicationManager>())
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

                foreach (var credentials in keys.SigningCredentials())
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

                foreach (var key in serverOnly.EncryptionKeys)
                {
                    server.AddEncryptionKey(key);
                }

                server.AddEventHandler(ProtectServerOnlyTokens.Descriptor);

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
            });

        return builder;
    }
}
