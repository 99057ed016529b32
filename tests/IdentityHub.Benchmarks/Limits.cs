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
    /// <summary>
    /// The same three rates with one thread per core running at once (the sum over the threads). On a virtual
    /// machine whose cores are hyperthreads or share a host, this is below cores x the one-core figure; the
    /// targets still use cores x one core, this figure only explains a shortfall.
    /// </summary>
    public AllCoresRates? AllCoresAtOnce { get; init; }

    public double Rs256Limit => Rs256PerCore * Cores;

    public double Es256Limit => Es256PerCore * Cores;

    public double PasswordHashLimit => PasswordHashesPerCore * Cores;
}

/// <summary>Signatures and password hashes per second with one thread per core running at once (their sum).</summary>
public sealed record AllCoresRates(double Rs256, double Es256, double PasswordHashes);

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
        var cores = Environment.ProcessorCount;
        var rsAll = AllCores(cores, () => SigningRate(new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rsa" }, SecurityAlgorithms.RsaSha256), seconds));
        var esAll = AllCores(cores, () => SigningRate(new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = "ec" }, SecurityAlgorithms.EcdsaSha256), seconds));
        var hashAll = AllCores(cores, () => PasswordHashRate(iterations, seconds));
        log.WriteLine($"  {cores} threads at once: RS256 {rsAll:N0}/s ({rsAll / (cores * rs256):P0} of {cores} x one), " +
                      $"ES256 {esAll:N0}/s ({esAll / (cores * es256):P0}), password hashes {hashAll:N2}/s ({hashAll / (cores * hashes):P0})");
        return new LimitFigures(rs256, es256, hashes, iterations, cores) { AllCoresAtOnce = new AllCoresRates(rsAll, esAll, hashAll) };
    }

    /// <summary>One thread per core runs <paramref name="rate"/> at the same time; the sum of their rates.</summary>
    private static double AllCores(int cores, Func<double> rate)
    {
        var rates = new double[cores];
        var threads = Enumerable.Range(0, cores).Select(i => new Thread(() => rates[i] = rate())).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return rates.Sum();
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
