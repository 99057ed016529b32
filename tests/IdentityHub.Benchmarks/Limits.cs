using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Benchmarks;

/// <summary>What the hardware allows, measured in-process on one thread in the same run as the HTTP scenarios.</summary>
public sealed record LimitFigures(
    double Rs256PerCore,
    double Es256PerCore,
    double PasswordHashesPerCore,
    int PasswordHashIterations,
    int Cores)
{
    public double Rs256Limit => Rs256PerCore * Cores;

    public double Es256Limit => Es256PerCore * Cores;

    public double PasswordHashLimit => PasswordHashesPerCore * Cores;
}

public static class Limits
{
    public static LimitFigures Measure(int iterations, double seconds, TextWriter log)
    {
        using var rsa = RSA.Create(2048);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rs256 = SigningRate(new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rsa" }, SecurityAlgorithms.RsaSha256), seconds);
        log.WriteLine($"  RS256 whole-JWT signing, one thread: {rs256:N0}/s");
        var es256 = SigningRate(new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = "ec" }, SecurityAlgorithms.EcdsaSha256), seconds);
        log.WriteLine($"  ES256 whole-JWT signing, one thread: {es256:N0}/s");
        var hashes = PasswordHashRate(iterations, seconds);
        log.WriteLine($"  PBKDF2-HMAC-SHA512 x {iterations:N0} (Identity V3 verify), one thread: {hashes:N2}/s");
        return new LimitFigures(rs256, es256, hashes, iterations, Environment.ProcessorCount);
    }

    /// <summary>The limit (x cores) of one scenario, measured again: RS256 or ES256 signing, or password hashing.</summary>
    public static double MeasureFor(string scenario, LimitFigures limits, double seconds)
    {
        if (scenario == Scenarios.SignIn)
        {
            return PasswordHashRate(limits.PasswordHashIterations, seconds) * limits.Cores;
        }

        if (scenario == Scenarios.ClientCredentialsEs256)
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return SigningRate(new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = "ec" }, SecurityAlgorithms.EcdsaSha256), seconds) * limits.Cores;
        }

        using var rsa = RSA.Create(2048);
        return SigningRate(new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rsa" }, SecurityAlgorithms.RsaSha256), seconds) * limits.Cores;
    }

    /// <summary>
    /// Creates and signs a typical access token (RFC 9068 "at+jwt", the claims OpenIddict puts in a
    /// client-credentials token) with Microsoft.IdentityModel.JsonWebTokens, as the server does.
    /// </summary>
    public static double SigningRate(SigningCredentials credentials, double seconds)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        string Create()
        {
            var now = DateTime.UtcNow;
            var descriptor = new SecurityTokenDescriptor
            {
                Issuer = "http://127.0.0.1:5000/",
                IssuedAt = now,
                NotBefore = now,
                Expires = now.AddMinutes(15),
                TokenType = "at+jwt",
                SigningCredentials = credentials,
                Claims = new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["aud"] = "identityhub",
                    ["sub"] = "bench-cc",
                    ["name"] = "Benchmark service",
                    ["client_id"] = "bench-cc",
                    ["oi_prst"] = "bench-cc",
                    ["jti"] = Guid.NewGuid().ToString(),
                    ["oi_tkn_id"] = Guid.NewGuid().ToString(),
                },
            };
            return handler.CreateToken(descriptor);
        }

        // Warm up (JIT, signature provider cache), then count whole tokens for the given time.
        for (var i = 0; i < 50; i++)
        {
            Create();
        }

        var count = 0;
        var watch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        while (watch.Elapsed < until)
        {
            for (var i = 0; i < 10; i++)
            {
                Create();
            }

            count += 10;
        }

        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>What the sign-in page pays per sign-in: one Identity V3 (PBKDF2-HMAC-SHA512) verification.</summary>
    public static double PasswordHashRate(int iterations, double seconds)
    {
        var hasher = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = iterations,
        }));
        var user = new object();
        const string password = "Bench-Passw0rd-2026";
        var hash = hasher.HashPassword(user, password);
        if (hasher.VerifyHashedPassword(user, hash, password) != PasswordVerificationResult.Success)
        {
            throw new InvalidOperationException("The password hasher does not verify its own hash.");
        }

        var count = 0;
        var watch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        while (watch.Elapsed < until || count < 3)
        {
            hasher.VerifyHashedPassword(user, hash, password);
            count++;
        }

        return count / watch.Elapsed.TotalSeconds;
    }
}
