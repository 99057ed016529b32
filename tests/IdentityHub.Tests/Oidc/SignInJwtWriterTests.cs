using System.Collections.Immutable;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Oidc.Handlers;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The code and refresh grants' fast paths write their tokens directly (SignInJwtWriter, Oidc:DirectSignInTokens): each must be
/// what OpenIddict's token handler writes for the descriptor SignInTokens gives it. The access and ID tokens (RS256, PKCS #1
/// v1.5: deterministic) are compared whole; the refresh token (HS256 inside dir + A256CBC-HS512, a random IV) by its JWE
/// header and, decrypted and verified by the handler with the server-only keys, its inner JWS, whole. The principals are
/// prepared as the fast paths prepare them (SignInTokens.Prepare*Token) from a sign-in principal with every claim value type
/// the server issues (strings, booleans, Integer64, JSON objects and arrays), repeated types, destinations, escaping and
/// non-ASCII text.
/// </summary>
public sealed class SignInJwtWriterTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    public static TheoryData<string, string> Inputs() => new()
    {
        { "https://id.example.gov.cn/", "张三 \"the\" <b>&'\\ é \u2028 😀" },
        { "http://127.0.0.1:5000/", "plain" },
    };

    private static ClaimsPrincipal SignInPrincipal(string name, string issuer)
    {
        var identity = new ClaimsIdentity("test", Claims.Name, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, "u-" + Guid.NewGuid()));
        identity.AddClaim(new Claim(Claims.Name, name));
        identity.AddClaim(new Claim(Claims.Email, "a\"b@example.gov.cn"));
        identity.AddClaim(new Claim(Claims.EmailVerified, "true", ClaimValueTypes.Boolean));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, Now.AddMinutes(-3).ToUnixTimeSeconds().ToString(), ClaimValueTypes.Integer64));
        identity.AddClaim(new Claim(Claims.AuthenticationMethodReference, "[\"pwd\",\"otp\"]", JsonClaimValueTypes.JsonArray));
        identity.AddClaim(new Claim("acr", "urn:gov:loa:2"));
        identity.AddClaim(new Claim("sid", "s-1"));
        identity.AddClaim(new Claim(Claims.Address, "{\"formatted\":\"" + name.Replace("\\", "\\\\").Replace("\"", "\\\"") + " 1号\",\"country\":\"CN\"}",
            JsonClaimValueTypes.Json));
        identity.AddClaim(new Claim("verified_claims", "{\"verification\":{\"trust_framework\":\"cn_gov\"},\"claims\":{\"given_name\":\"三\",\"n\":1.5,\"b\":true}}",
            JsonClaimValueTypes.Json));
        identity.AddClaim(new Claim(Claims.Role, "citizen"));
        identity.AddClaim(new Claim(Claims.Role, "staff"));
        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess)
            .SetResources("identityhub", "dept-api")
            .SetPresenters("client-1")
            .SetAuthorizationId(Guid.NewGuid().ToString())
            .SetClaim(Claims.Private.Nonce, "n-0S6_WzA2Mj");
        foreach (var claim in identity.Claims)
        {
            claim.SetDestinations(claim.Type switch
            {
                Claims.Name or Claims.Email or Claims.EmailVerified or Claims.Address or "verified_claims" => [Destinations.AccessToken, Destinations.IdentityToken],
                Claims.AuthenticationTime or Claims.AuthenticationMethodReference or "acr" => [Destinations.IdentityToken],
                Claims.Role or "sid" => [Destinations.AccessToken],
                _ => [],
            });
        }

        return principal;
    }

    private static (OpenIddictServerOptions Options, SigningCredentials Rs256, SigningCredentials Hs256, EncryptingCredentials Dir) Keys(RSA rsa)
    {
        // OpenIddict's own handler, as it comes (the writer takes only a handler that sets no default dates).
        var options = new OpenIddictServerOptions();
        var rs256 = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rsa-1" }, SecurityAlgorithms.RsaSha256);
        var hs256 = new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "t.hs" }, SecurityAlgorithms.HmacSha256);
        var dir = new EncryptingCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64)) { KeyId = "t.dir" }, "dir",
            SecurityAlgorithms.Aes256CbcHmacSha512);
        return (options, rs256, hs256, dir);
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void AccessAndIdentityTokens_SameBytesAsTheHandler(string issuer, string name)
    {
        using var rsa = RSA.Create(2048);
        var (options, rs256, _, _) = Keys(rsa);
        var principal = SignInPrincipal(name, issuer);
        SignInTokens.PrepareSignIn(principal, principal, "client-1");
        var access = SignInTokens.PrepareAccessToken(principal, "client-1", issuer, Now, TimeSpan.FromMinutes(15));
        var identity = SignInTokens.PrepareIdentityToken(principal, "client-1", issuer, Now, TimeSpan.FromMinutes(20));
        identity.SetClaim(Claims.AccessTokenHash, "abc");

        foreach (var (token, type) in new[] { (access, TokenTypeIdentifiers.AccessToken), (identity, TokenTypeIdentifiers.IdentityToken) })
        {
            var description = SignInTokens.Describe(token, type);
            var expected = SignInTokens.CreateWithHandler(options, token, description, rs256, null);
            var actual = SignInJwtWriter.TryCreate(options.JsonWebTokenHandler, token, description, rs256, null);
            Assert.NotNull(actual);
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task RefreshToken_SameHeaderAndInnerJwsAsTheHandler_OpenedByTheHandler(string issuer, string name)
    {
        using var rsa = RSA.Create(2048);
        var (options, _, hs256, dir) = Keys(rsa);
        var principal = SignInPrincipal(name, issuer);
        SignInTokens.PrepareSignIn(principal, principal, "client-1");
        var refresh = SignInTokens.PrepareRefreshToken(principal, issuer, Now, TimeSpan.FromDays(14));
        refresh.SetTokenId(Guid.NewGuid().ToString());

        var description = SignInTokens.Describe(refresh, TokenTypeIdentifiers.RefreshToken);
        var expected = SignInTokens.CreateWithHandler(options, refresh, description, hs256, dir);
        var actual = SignInJwtWriter.TryCreate(options.JsonWebTokenHandler, refresh, description, hs256, dir);
        Assert.NotNull(actual);

        // RFC 7516 section 7.1: five parts, the same protected header, no encrypted key ("dir"), a 128-bit IV, a 256-bit tag.
        var parts = actual.Split('.');
        Assert.Equal(5, parts.Length);
        Assert.Equal(expected.Split('.')[0], parts[0]);
        Assert.Equal("", parts[1]);
        Assert.Equal(16, Base64UrlEncoder.DecodeBytes(parts[2]).Length);
        Assert.Equal(32, Base64UrlEncoder.DecodeBytes(parts[4]).Length);
        Assert.NotEqual(expected.Split('.')[2], parts[2]);

        var inner = await OpenAsync(actual, hs256, dir);
        Assert.Equal(await OpenAsync(expected, hs256, dir), inner);

        // The tag authenticates header, IV and ciphertext: any change is refused by the handler.
        foreach (var part in new[] { 0, 2, 3, 4 })
        {
            var tampered = (string[])parts.Clone();
            var bytes = Base64UrlEncoder.DecodeBytes(tampered[part]);
            bytes[^1] ^= 1;
            tampered[part] = Base64UrlEncoder.Encode(bytes);
            Assert.Null(await OpenAsync(string.Join('.', tampered), hs256, dir, mustOpen: false));
        }
    }

    [Fact]
    public void UnsupportedClaimValueType_LeftToTheHandler()
    {
        using var rsa = RSA.Create(2048);
        var (options, rs256, _, _) = Keys(rsa);
        var principal = SignInPrincipal("x", "https://h/");
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim("updated_at", "2026-11-30T05:00:00Z", ClaimValueTypes.DateTime)
            .SetDestinations(Destinations.AccessToken));
        SignInTokens.PrepareSignIn(principal, principal, "client-1");
        var access = SignInTokens.PrepareAccessToken(principal, "client-1", "https://h/", Now, TimeSpan.FromMinutes(15));
        var description = SignInTokens.Describe(access, TokenTypeIdentifiers.AccessToken);

        Assert.Null(SignInJwtWriter.TryCreate(options.JsonWebTokenHandler, access, description, rs256, null));
        // CreateToken then asks the handler: a valid token all the same.
        Assert.Equal(3, SignInTokens.CreateToken(options, access, TokenTypeIdentifiers.AccessToken, rs256, null, direct: true).Split('.').Length);
    }

    [Theory]
    [InlineData("exp")]
    [InlineData("iat")]
    [InlineData("nbf")]
    public void SubjectDateClaim_LeftToTheHandler(string type)
    {
        using var rsa = RSA.Create(2048);
        var (options, rs256, _, _) = Keys(rsa);
        var principal = SignInPrincipal("x", "https://h/");
        SignInTokens.PrepareSignIn(principal, principal, "client-1");
        var access = SignInTokens.PrepareAccessToken(principal, "client-1", "https://h/", Now, TimeSpan.FromMinutes(15));
        // The Prepare*Token methods drop such claims; one added afterwards is the handler's to write.
        ((ClaimsIdentity)access.Identity!).AddClaim(new Claim(type, Now.ToUnixTimeSeconds().ToString(), ClaimValueTypes.Integer64));
        var description = SignInTokens.Describe(access, TokenTypeIdentifiers.AccessToken);

        Assert.Null(SignInJwtWriter.TryCreate(options.JsonWebTokenHandler, access, description, rs256, null));
        // CreateToken then asks the handler: a valid token all the same.
        Assert.Equal(3, SignInTokens.CreateToken(options, access, TokenTypeIdentifiers.AccessToken, rs256, null, direct: true).Split('.').Length);
    }

    /// <summary>The inner JWS of a refresh token the handler decrypts and verifies, or null when it refuses it.</summary>
    private static async Task<string?> OpenAsync(string token, SigningCredentials hs256, EncryptingCredentials dir, bool mustOpen = true)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            TokenDecryptionKey = dir.Key,
            IssuerSigningKey = hs256.Key,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidTypes = [JsonWebTokenTypes.Private.RefreshToken],
        });
        if (mustOpen)
        {
            Assert.True(result.IsValid, result.Exception?.ToString());
        }

        return result.IsValid ? ((JsonWebToken)result.SecurityToken).InnerToken.EncodedToken : null;
    }
}
