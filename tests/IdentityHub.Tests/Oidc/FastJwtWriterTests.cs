using System.Security.Cryptography;
using IdentityHub.Server.Oidc.Handlers;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The client_credentials fast path writes its access token itself (FastJwtWriter): it must be, byte for byte, what the
/// JsonWebTokenHandler OpenIddict signs with writes for the same descriptor. RS256 signatures (PKCS #1 v1.5) are
/// deterministic, so the whole token is compared; ES256 ones are not, so its header and payload are compared and its
/// signature verified.
/// </summary>
public sealed class FastJwtWriterTests
{
    public static TheoryData<string?, string[]> Inputs() => new()
    {
        { "https://id.example.gov.cn/", ["sub", "svc-1", "aud", "identityhub", "client_id", "svc-1", "oi_prst", "svc-1", "jti", Guid.NewGuid().ToString()] },
        { "http://127.0.0.1:5000/", ["sub", "svc", "aud", "api", "client_id", "svc", "oi_prst", "svc", "jti", "j", "scope", "phone email"] },
        { null, ["sub", "svc", "jti", "j"] },
        // Escaping: quotes, backslash, HTML-sensitive, control, non-ASCII and astral characters.
        { "https://h/?a=<b>&c='d'", ["sub", "c\"l\\i+e/n\tt", "aud", "部门 é \u2028 😀", "jti", "\u0001"] },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Rs256_SameTokenAsTheHandler(string? issuer, string[] pairs)
    {
        using var rsa = RSA.Create(2048);
        var credentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256);

        var (expected, actual) = Both(credentials, issuer, pairs);

        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Es256_SameHeaderAndPayload_ValidSignature(string? issuer, string[] pairs)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = new ECDsaSecurityKey(ecdsa) { KeyId = "e1" };
        var credentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256);

        var (expected, actual) = Both(credentials, issuer, pairs);

        Assert.Equal(expected[..expected.LastIndexOf('.')], actual[..actual.LastIndexOf('.')]);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(actual, new TokenValidationParameters
        {
            IssuerSigningKey = key, ValidateIssuer = false, ValidateAudience = false, ValidateLifetime = false,
            ValidTypes = ["at+jwt"],
        });
        Assert.True(result.IsValid, result.Exception?.ToString());
    }

    private static (string Expected, string Actual) Both(SigningCredentials credentials, string? issuer, string[] pairs)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).UtcDateTime;
        var expires = issuedAt.AddMinutes(15);
        var claims = Enumerable.Range(0, pairs.Length / 2).Select(i => new KeyValuePair<string, string>(pairs[2 * i], pairs[2 * i + 1])).ToArray();

        // The descriptor the fast path gave the handler before it wrote the token itself.
        var expected = handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims.ToDictionary(c => c.Key, c => (object)c.Value, StringComparer.Ordinal),
            Issuer = issuer,
            IssuedAt = issuedAt,
            Expires = expires,
            SigningCredentials = credentials,
            TokenType = "at+jwt",
        });
        var actual = FastJwtWriter.Create(FastJwtWriter.Header(handler, credentials, "at+jwt"), credentials, issuer, expires, issuedAt, claims);
        return (expected, actual);
    }
}
