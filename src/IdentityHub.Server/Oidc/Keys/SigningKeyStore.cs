using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Server.Oidc.Keys;

/// <summary>A signing key was created (audit: key.created): its kid, generation, algorithm and when it starts signing.</summary>
public sealed record SigningKeyCreated(string KeyId, object After) : AuditRecord(KeyId, null, null, After)
{
    public override string EventType => "key.created";

    public override string TargetType => "signing_key";
}

/// <summary>
/// The database signing keys: creates the next one when it is due (any node may; the unique generation lets one
/// succeed), removes keys past their retention, and opens the stored private keys.
/// </summary>
public sealed class SigningKeyStore(
    IServiceScopeFactory scopes,
    IDataProtectionProvider protection,
    IOptions<OidcOptions> options,
    TimeProvider clock,
    ILogger<SigningKeyStore> logger)
{
    public const string Purpose = "IdentityHub.Oidc.SigningKeys.v1";

    private IDataProtector Protector => protection.CreateProtector(Purpose);

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>The keys to publish now (not yet past their retention), oldest generation first.</summary>
    public async Task<IReadOnlyList<SigningKeyEntry>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var publishedSince = Now - options.Value.KeyRotation.EffectiveRetainFor(options.Value);
        return await db.Set<SigningKeyEntry>().AsNoTracking()
            .Where(k => k.RetiresAtUtc == null || k.RetiresAtUtc > publishedSince)
            .OrderBy(k => k.Generation)
            .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Creates the next key if it is due: none yet (it signs at once), the newest one due to hand over within
    /// PublishAhead, or the newest one of another algorithm than Oidc:SigningAlgorithm. True when this call created it.
    /// </summary>
    public async Task<bool> RotateIfDueAsync(CancellationToken cancellationToken)
    {
        var oidc = options.Value;
        var rotation = oidc.KeyRotation;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var latest = await db.Set<SigningKeyEntry>().OrderByDescending(k => k.Generation).FirstOrDefaultAsync(cancellationToken);
        var now = Now;
        DateTime activates;
        if (latest is null)
        {
            activates = now;
        }
        else if (latest.Algorithm != oidc.SigningAlgorithm)
        {
            activates = now + rotation.PublishAhead;
        }
        else if (now >= latest.ActivatesAtUtc + rotation.Interval - rotation.PublishAhead)
        {
            var scheduled = latest.ActivatesAtUtc + rotation.Interval;
            activates = scheduled > now + rotation.PublishAhead ? scheduled : now + rotation.PublishAhead;
        }
        else
        {
            return false;
        }

        var entry = Create((latest?.Generation ?? 0) + 1, oidc.SigningAlgorithm, now, activates, rotation.RsaKeySize);
        if (latest is not null)
        {
            latest.RetiresAtUtc = activates;
        }

        db.Add(entry);
        scope.ServiceProvider.GetRequiredService<IAuditLog>().Add(AuditActor.System("key-rotation"), new SigningKeyCreated(entry.Id, new
        {
            entry.Generation,
            entry.Algorithm,
            entry.ActivatesAtUtc,
            Replaces = latest?.Id,
        }));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another node created this generation first: its key is the one.
            return false;
        }

        logger.LogInformation("Signing key {KeyId} (generation {Generation}, {Algorithm}) created: published now, signs from {ActivatesAt:O}",
            entry.Id, entry.Generation, entry.Algorithm, entry.ActivatesAtUtc);
        var expired = now - rotation.EffectiveRetainFor(oidc);
        await db.Set<SigningKeyEntry>().Where(k => k.RetiresAtUtc != null && k.RetiresAtUtc <= expired).ExecuteDeleteAsync(cancellationToken);
        return true;
    }

    /// <summary>The signing credentials of a stored key (kid = the entry's id).</summary>
    public SigningCredentials Open(SigningKeyEntry entry)
    {
        var pkcs8 = Protector.Unprotect(Convert.FromBase64String(entry.ProtectedKey));
        try
        {
            if (entry.Algorithm == SecurityAlgorithms.EcdsaSha256)
            {
                var ec = ECDsa.Create();
                ec.ImportPkcs8PrivateKey(pkcs8, out _);
                return new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = entry.Id }, SecurityAlgorithms.EcdsaSha256);
            }

            var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(pkcs8, out _);
            return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = entry.Id }, SecurityAlgorithms.RsaSha256);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private SigningKeyEntry Create(int generation, string algorithm, DateTime now, DateTime activates, int rsaKeySize)
    {
        byte[] pkcs8;
        if (algorithm == SecurityAlgorithms.EcdsaSha256)
        {
            // RFC 7518 section 3.4: ES256 is ECDSA with P-256 and SHA-256.
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            pkcs8 = ec.ExportPkcs8PrivateKey();
        }
        else
        {
            // RFC 7518 section 3.3: RS256 keys of 2048 bits or more.
            using var rsa = RSA.Create(rsaKeySize);
            pkcs8 = rsa.ExportPkcs8PrivateKey();
        }

        try
        {
            return new SigningKeyEntry
            {
                Id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
                Generation = generation,
                Algorithm = algorithm,
                ProtectedKey = Convert.ToBase64String(Protector.Protect(pkcs8)),
                CreatedAtUtc = now,
                ActivatesAtUtc = activates,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }
}
