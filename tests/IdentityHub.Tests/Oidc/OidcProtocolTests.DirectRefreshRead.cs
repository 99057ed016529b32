using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Oidc.Handlers;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The refresh fast path's direct validation of a presented refresh token (Oidc/Handlers/DirectRefreshTokenReader.TryValidate,
/// Oidc:DirectRefreshTokenValidation, on by default) against OpenIddict's own validation, on the server of each provider: for
/// refresh tokens the server issued (by the fast path, the normal path and the code exchange; public-subject and pairwise
/// clients, with and without openid; a public client's), the direct validation and OpenIddict's ValidateTokenContext
/// dispatched as the fast path dispatched it end with the same principal (every claim: type, value, value type, issuer,
/// original issuer, properties; the identity's type, authentication, name and role claim types), the same token id and the
/// same authorization id. What it must not take (a tampered header, IV, ciphertext, tag or inner signature, an
/// authorization code, a token of a wrong issuer, one encrypted or signed under another key, an A256KW one, an expired one or
/// one about to expire) it declines (null), and the answers over HTTP are those of the normal path.
/// </summary>
public abstract partial class OidcProtocolTests
{
    /// <summary>OpenIddict's validation of a refresh token as the fast path dispatches it, with <paramref name="preset"/> as the principal attached beforehand.</summary>
    private async Task<ValidateTokenContext> ValidateRefreshTokenAsync(string token, ClaimsPrincipal? preset)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var factory = scope.ServiceProvider.GetRequiredService<IOpenIddictServerFactory>();
        var dispatcher = scope.ServiceProvider.GetRequiredService<IOpenIddictServerDispatcher>();
        var transaction = await factory.CreateTransactionAsync();
        transaction.EndpointType = OpenIddictServerEndpointType.Token;
        transaction.BaseUri = Server.BaseAddress;
        transaction.Request = new OpenIddictRequest { GrantType = "refresh_token", RefreshToken = token };
        var context = new ValidateTokenContext(transaction)
        {
            Token = token,
            ValidTokenTypes = { OpenIddictConstants.TokenTypeIdentifiers.RefreshToken },
            Principal = preset,
        };
        await dispatcher.DispatchAsync(context);
        return context;
    }

    private (DirectRefreshTokenReader Reader, OpenIddictServerOptions Options, ServerOnlyTokenKeys Keys) ReaderParts() =>
        (Server.Services.GetRequiredService<DirectRefreshTokenReader>(),
            Server.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue,
            Server.Services.GetRequiredService<ServerOnlyTokenKeys>());

    private ClaimsPrincipal? ReadDirectly(string token, DateTimeOffset? now = null)
    {
        var (reader, options, _) = ReaderParts();
        return reader.TryValidate(token, options, Server.BaseAddress, now ?? DateTimeOffset.UtcNow)?.Principal;
    }

    /// <summary>The direct validation takes the token and ends as OpenIddict's validation ends.</summary>
    private async Task AssertReadAsOpenIddictReadsAsync(string name, string token)
    {
        var (reader, options, _) = ReaderParts();
        var direct = reader.TryValidate(token, options, Server.BaseAddress, DateTimeOffset.UtcNow);
        Assert.True(direct is not null, $"{name}: declined by the direct validation");
        var normal = await ValidateRefreshTokenAsync(token, null);
        Assert.False(normal.IsRejected, $"{name}: {normal.Error} {normal.ErrorDescription}");
        Assert.Equal(normal.TokenId, direct.Value.TokenId);
        Assert.Equal(normal.AuthorizationId, direct.Value.AuthorizationId);
        Assert.False(string.IsNullOrEmpty(direct.Value.TokenId), name);
        Assert.Equal(Describe(normal.Principal!), Describe(direct.Value.Principal));
        Assert.Equal(Describe(normal.Principal!).Length, normal.Principal!.Claims.Count() + normal.Principal.Identities.Count());
    }

    /// <summary>Every identity and claim of a principal, as text: what the comparison sees.</summary>
    private static string[] Describe(ClaimsPrincipal principal) =>
        [.. principal.Identities.SelectMany(identity => (IEnumerable<string>)[
            string.Join("|", "identity", identity.GetType().FullName, identity.AuthenticationType, identity.IsAuthenticated,
                identity.NameClaimType, identity.RoleClaimType, identity.Label, identity.Actor is null, identity.BootstrapContext is null),
            .. identity.Claims.Select(claim => string.Join("|", claim.Type, claim.Value, claim.ValueType, claim.Issuer, claim.OriginalIssuer,
                ReferenceEquals(claim.Subject, identity), string.Join(",", claim.Properties.OrderBy(p => p.Key, StringComparer.Ordinal)
                    .Select(p => p.Key + "=" + p.Value))))])];

    [Fact]
    public async Task DirectRefreshRead_TokensOfEveryPath_SamePrincipalAsOpenIddict()
    {
        var client = await Kit.RegisterWebClientAsync();
        var (pairwise, _) = await RegisterPairwiseWebClientAsync();
        var publicClient = await Kit.RegisterWebClientAsync(clientType: "public");
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();

        foreach (var (label, webClient, scope) in new[]
                 {
                     ("public subject", client, OidcKit.WebScopes),
                     ("public subject, no openid", client, "profile phone offline_access"),
                     ("public subject, openid offline_access only", client, "openid offline_access"),
                     ("pairwise", pairwise, OidcKit.WebScopes),
                     ("pairwise, no openid", pairwise, "phone offline_access"),
                     ("public client", publicClient, OidcKit.WebScopes),
                 })
        {
            var flow = await Kit.CodeFlowAsync(browser, webClient, user, scope);
            var issued = flow.Tokens.RefreshToken!;
            await AssertReadAsOpenIddictReadsAsync($"{label}: the code exchange's", issued);

            var auth = webClient.Secret is null ? RefreshAuth.PublicClient : RefreshAuth.Basic;
            using var direct = new FastPathMeter("identityhub.refresh.direct_validation", webClient.ClientId);
            var plain = await RefreshRequestAsync(webClient, issued, auth);
            Assert.True(plain.Response.StatusCode == HttpStatusCode.OK, $"{label}: {plain.Json}");
            // The fast path (confidential clients only) validated the token directly, not through OpenIddict's dispatch.
            Assert.Equal(webClient.Secret is null ? 0 : 1, direct.Count);
            var fastToken = plain.Json.GetProperty("refresh_token").GetString()!;
            await AssertReadAsOpenIddictReadsAsync($"{label}: the plain refresh's", fastToken);

            var normal = await RefreshRequestAsync(webClient, fastToken, auth, Ignored);
            Assert.True(normal.Response.StatusCode == HttpStatusCode.OK, $"{label}: {normal.Json}");
            await AssertReadAsOpenIddictReadsAsync($"{label}: the normal path's", normal.Json.GetProperty("refresh_token").GetString()!);
        }
    }

    /// <summary>A JSON object without the named members.</summary>
    private static string Without(JsonElement json, params string[] names) =>
        JsonSerializer.Serialize(json.EnumerateObject().Where(p => !names.Contains(p.Name)).ToDictionary(p => p.Name, p => p.Value));

    [Fact]
    public async Task DirectRefreshRead_AnythingNotExactlyOurs_Declined_AndAnsweredAsBefore()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var flow = await Kit.CodeFlowAsync(browser, client, user);
        var token = flow.Tokens.RefreshToken!;
        Assert.NotNull(ReadDirectly(token));
        var (_, options, keys) = ReaderParts();

        static string Flip(string segment, int at) =>
            segment[..at] + (segment[at] == 'A' ? 'B' : 'A') + segment[(at + 1)..];

        string Tampered(int part, int at = 3)
        {
            var parts = token.Split('.');
            parts[part] = Flip(parts[part], at);
            return string.Join('.', parts);
        }

        // A token as OpenIddict's token handler writes it, from the presented one's claims, with other keys, issuer or type.
        var inner = (await options.JsonWebTokenHandler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            TokenDecryptionKeys = keys.EncryptionKeys, IssuerSigningKeys = keys.SigningKeys, ValidateIssuer = false, ValidateAudience = false,
            ValidateLifetime = false,
        })).SecurityToken as JsonWebToken;
        var payload = OidcKit.JwtPayload(inner!.InnerToken.EncodedToken);
        string Written(SigningCredentials? signing = null, EncryptingCredentials? encryption = null, string? issuer = null,
            string type = "oi_reft+jwt", DateTime? expires = null) =>
            options.JsonWebTokenHandler.CreateToken(new SecurityTokenDescriptor
            {
                Claims = payload.EnumerateObject().Where(p => p.Name is not ("iss" or "exp" or "iat"))
                    .ToDictionary(p => p.Name, p => (object)(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.Clone())),
                Issuer = issuer ?? payload.GetProperty("iss").GetString(),
                IssuedAt = DateTimeOffset.FromUnixTimeSeconds(payload.GetProperty("iat").GetInt64()).UtcDateTime,
                Expires = expires ?? DateTimeOffset.FromUnixTimeSeconds(payload.GetProperty("exp").GetInt64()).UtcDateTime,
                SigningCredentials = signing ?? keys.Signing,
                EncryptingCredentials = encryption ?? keys.Encryption,
                TokenType = type,
            });

        // Written again by the handler with our keys: read (the reader is not tied to one writer's bytes beyond the header).
        await AssertReadAsOpenIddictReadsAsync("rewritten by the handler", Written());

        var otherEncryption = new EncryptingCredentials(
            new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64)) { KeyId = keys.Encryption.Key.KeyId }, "dir", SecurityAlgorithms.Aes256CbcHmacSha512);
        var otherSigning = new SigningCredentials(
            new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = keys.Signing.Key.KeyId }, SecurityAlgorithms.HmacSha256);
        var keyWrap = keys.EncryptionKeys.First(k => k.KeySize == 256);
        var declined = new (string Name, string Token)[]
        {
            ("tampered header", Tampered(0, 5)),
            ("tampered IV", Tampered(2)),
            ("tampered ciphertext", Tampered(3)),
            ("tampered tag", Tampered(4)),
            ("an encrypted key", string.Join('.', token.Split('.').Select((part, i) => i == 1 ? "AAAA" : part))),
            ("encrypted under another key", Written(encryption: otherEncryption)),
            ("signed under another key", Written(signing: otherSigning)),
            ("A256KW under the server's older key-wrap key", Written(encryption: new EncryptingCredentials(keyWrap, SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512))),
            ("another issuer", Written(issuer: "https://elsewhere.example/")),
            ("an authorization code", Written(type: "oi_auc+jwt")),
            ("the code the server issued", (await Kit.AuthorizeForCodeAsync(browser, client, user)).Callback["code"]!),
        };
        foreach (var (name, presented) in declined)
        {
            Assert.True(ReadDirectly(presented) is null, $"{name}: read by the reader");
        }

        // Two of them OpenIddict takes: the older A256KW protection, and (IdentityModel ignores it for "dir", though RFC 7516
        // section 5.2 would have it empty) an encrypted key segment. Declined by the reader, they stay OpenIddict's to read.
        string[] openIddicts = ["an encrypted key", "A256KW under the server's older key-wrap key"];
        foreach (var (name, presented) in declined.Where(d => openIddicts.Contains(d.Name)))
        {
            var alone = await ValidateRefreshTokenAsync(presented, null);
            Assert.False(alone.IsRejected, $"{name}: {alone.Error} {alone.ErrorDescription}");
        }

        // Over HTTP: each refused as the normal path refuses it (the same token through the normal path), nothing redeemed.
        foreach (var (name, presented) in declined.Where(d => !openIddicts.Contains(d.Name)))
        {
            var plain = await RefreshRequestAsync(client, presented);
            Assert.True(plain.Json.ValueKind == JsonValueKind.Object && plain.Json.TryGetProperty("error", out var error)
                && error.GetString() == "invalid_grant", $"{name}: {plain.Response.StatusCode} {plain.Json}");
            AssertSameAnswer(await RefreshRequestAsync(client, presented, extra: Ignored), plain);
        }

        // An expired token, and one expiring within the margin: declined (the dates near the edge are OpenIddict's to judge,
        // with its clock skew); over HTTP the expired one refused as by the normal path.
        var expired = Written(expires: DateTime.UtcNow.AddMinutes(-5));
        Assert.Null(ReadDirectly(expired));
        Assert.True((await ValidateRefreshTokenAsync(expired, null)).IsRejected);
        var expiring = Written(expires: DateTime.UtcNow.AddSeconds(30));
        Assert.Null(ReadDirectly(expiring));
        Assert.NotNull(ReadDirectly(Written(expires: DateTime.UtcNow.AddMinutes(10))));
        var expiredAnswer = await RefreshRequestAsync(client, expired);
        Assert.True(expiredAnswer.Json.ValueKind == JsonValueKind.Object && expiredAnswer.Json.TryGetProperty("error", out var expiredError)
            && expiredError.GetString() == "invalid_grant", $"expired: {expiredAnswer.Response.StatusCode} {expiredAnswer.Json}");
        AssertSameAnswer(await RefreshRequestAsync(client, expired, extra: Ignored), expiredAnswer);

        // Without a token id, with a token_usage claim, without an issuer: declined (OpenIddict's dispatch decides them).
        var original = payload;
        foreach (var (name, change) in new (string, Func<JsonElement, string>)[]
                 {
                     ("no token id", p => Without(p, "oi_tkn_id", "jti")),
                     ("token_usage", p => p.GetRawText().TrimEnd('}') + ",\"token_usage\":\"refresh_token\"}"),
                 })
        {
            payload = JsonDocument.Parse(change(original)).RootElement.Clone();
            Assert.True(ReadDirectly(Written()) is null, $"{name}: validated directly");
        }

        payload = original;
        Assert.Null(ReadDirectly(Written(issuer: "")));

        // A token with a confirmation claim (RFC 7800): declined, and refused by RejectSenderConstrainedTokens as before.
        payload = JsonDocument.Parse(payload.GetRawText().TrimEnd('}') + ",\"cnf\":{\"jkt\":\"abc\"}}").RootElement.Clone();
        var bound = Written();
        Assert.Null(ReadDirectly(bound));
        Assert.True((await ValidateRefreshTokenAsync(bound, null)).IsRejected);

        // The one OpenIddict takes over HTTP (its entry never redeemed by the refusals above): answered, by the normal path.
        var wrapped = await RefreshRequestAsync(client, declined.Single(d => d.Name == "an encrypted key").Token);
        Assert.True(wrapped.Response.StatusCode == HttpStatusCode.OK, wrapped.Json.ToString());
    }
}

/// <summary>The direct validation stands in only for the validation handlers it knows.</summary>
public sealed class DirectRefreshValidationHandlersTests
{
    [Fact]
    public void AnUnknownValidationHandler_LeavesTheTokenToTheDispatch()
    {
        var known = new OpenIddictServerOptions();
        foreach (var descriptor in OpenIddictServerHandlers.DefaultHandlers)
        {
            known.Handlers.Add(descriptor);
        }

        Assert.True(DirectRefreshTokenReader.HandlersAreKnown(known).Value);
        known.Handlers.Add(OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<Extra>().SetOrder(0).Build());
        Assert.False(DirectRefreshTokenReader.HandlersAreKnown(known).Value);
    }

    private sealed class Extra : IOpenIddictServerHandler<ValidateTokenContext>
    {
        public ValueTask HandleAsync(ValidateTokenContext context) => default;
    }
}
