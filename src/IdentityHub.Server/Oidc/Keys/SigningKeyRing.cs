using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using OpenIddict.Validation;

namespace IdentityHub.Server.Oidc.Keys;

/// <summary>
/// This node's view of the database signing keys, and what OpenIddict signs and validates with. OpenIddict signs with
/// the first of its signing credentials and validates with all of them, and reads its options per request through
/// IOptionsMonitor; so the ring hands it (<see cref="ConfigureSigningCredentials"/>) the key that signs now first, then
/// every other published key (the next one, retired ones within their retention), then the configured signing
/// certificates (validation of tokens they signed before the database keys took over). Whenever that list changes (a
/// key created, one activating, one expired) the ring drops OpenIddict's cached server and validation options, which
/// are rebuilt on the next request, and the cached discovery/JWKS answers.
/// </summary>
public sealed class SigningKeyRing(
    SigningKeyStore store,
    ServerKeys certificates,
    IOptions<OidcOptions> options,
    IOptionsMonitorCache<OpenIddictServerOptions> serverOptions,
    IOptionsMonitorCache<OpenIddictValidationOptions> validationOptions,
    MetadataVersion metadata,
    TimeProvider clock,
    ILogger<SigningKeyRing> logger)
{
    private readonly Dictionary<string, SigningCredentials> _opened = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<SigningKeyEntry> _entries = [];
    private volatile IReadOnlyList<SigningCredentials> _current = [];
    private string _fingerprint = "";

    /// <summary>What OpenIddict gets: the signing key first.</summary>
    public IReadOnlyList<SigningCredentials> Current => _current;

    /// <summary>The kid that signs now (null before the first load).</summary>
    public string? SigningKeyId => _current.Count > 0 ? _current[0].Key.KeyId : null;

    /// <summary>When the next published key starts signing (the ring must be recomputed then).</summary>
    public DateTime? NextActivationUtc
    {
        get
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var next = _entries.Where(e => e.ActivatesAtUtc > now).Select(e => (DateTime?)e.ActivatesAtUtc).Min();
            return next;
        }
    }

    /// <summary>Reloads the keys from the database; when what OpenIddict should use changed, makes it use the new list.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var entries = await store.LoadAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _entries = entries;
            foreach (var entry in entries.Where(e => !_opened.ContainsKey(e.Id)))
            {
                _opened[entry.Id] = store.Open(entry);
            }

            foreach (var gone in _opened.Keys.Except(entries.Select(e => e.Id)).ToList())
            {
                _opened.Remove(gone);
            }

            var ordered = Order(entries, clock.GetUtcNow().UtcDateTime);
            var fingerprint = string.Join(',', ordered.Select(e => e.Id));
            if (fingerprint == _fingerprint)
            {
                return;
            }

            // Only the key that signs now signs among the database keys; the others are published only (TokenSigning).
            foreach (var entry in ordered)
            {
                TokenSigning.MarkSigns(_opened[entry.Id].Key, entry == ordered[0]);
            }

            _current = [.. ordered.Select(e => _opened[e.Id]), .. CertificateCredentials()];
            _fingerprint = fingerprint;
            serverOptions.TryRemove(Options.DefaultName);
            validationOptions.TryRemove(Options.DefaultName);
            metadata.Changed();
            logger.LogInformation("Signing keys in use: {KeyId} signs, {Published} published", SigningKeyId, _current.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The key that activated last (among those of the configured algorithm, if any) first; then the others, newest first.</summary>
    private List<SigningKeyEntry> Order(IReadOnlyList<SigningKeyEntry> entries, DateTime now)
    {
        var algorithm = options.Value.SigningAlgorithm;
        var signing = entries.Where(e => e.ActivatesAtUtc <= now).OrderBy(e => e.Algorithm == algorithm ? 0 : 1)
                          .ThenByDescending(e => e.ActivatesAtUtc).FirstOrDefault()
                      ?? entries.OrderBy(e => e.ActivatesAtUtc).FirstOrDefault();
        return signing is null ? [] : [signing, .. entries.Where(e => e != signing).OrderByDescending(e => e.Generation)];
    }

    /// <summary>
    /// The configured certificates as plain RSA/EC keys (kid = thumbprint, as before): OpenIddict would otherwise sort
    /// X.509 keys before the database keys and sign with a certificate.
    /// </summary>
    private IEnumerable<SigningCredentials> CertificateCredentials()
    {
        foreach (var certificate in certificates.Signing)
        {
            if (certificate.GetECDsaPrivateKey() is { } ec)
            {
                yield return new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = certificate.Thumbprint }, SecurityAlgorithms.EcdsaSha256);
            }
            else if (certificate.GetRSAPrivateKey() is { } rsa)
            {
                yield return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = certificate.Thumbprint }, SecurityAlgorithms.RsaSha256);
            }
        }
    }
}

/// <summary>Gives OpenIddict the ring's keys each time it builds its server options.</summary>
public sealed class ConfigureSigningCredentials(SigningKeyRing ring) : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options) => options.SigningCredentials.AddRange(ring.Current);
}

/// <summary>
/// Creates the next signing key when due and keeps this node's ring current: every CheckInterval / RefreshInterval, at
/// the moment a published key activates, and at once when another node signals a change (Redis, in shared mode).
/// </summary>
public sealed class KeyRotationService(
    SigningKeyStore store,
    SigningKeyRing ring,
    Scale.IClusterSignals signals,
    IOptions<OidcOptions> options,
    TimeProvider clock,
    ILogger<KeyRotationService> logger) : BackgroundService
{
    public const string Signal = "signing-keys";

    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = signals.Subscribe(Signal, () =>
        {
            if (_wake.CurrentCount == 0)
            {
                try
                {
                    _wake.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already awake.
                }
            }
        });
        var rotation = options.Value.KeyRotation;
        var lastCheck = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var now = clock.GetUtcNow().UtcDateTime;
                if (now - lastCheck >= rotation.CheckInterval)
                {
                    lastCheck = now;
                    if (await store.RotateIfDueAsync(stoppingToken))
                    {
                        await signals.PublishAsync(Signal);
                    }
                }

                await ring.RefreshAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be away: keep the keys in memory and try again.
                logger.LogWarning(e, "Signing key refresh failed; keeping the keys loaded before");
            }

            var delay = rotation.RefreshInterval < rotation.CheckInterval ? rotation.RefreshInterval : rotation.CheckInterval;
            if (ring.NextActivationUtc is { } next && next - clock.GetUtcNow().UtcDateTime + TimeSpan.FromMilliseconds(50) < delay)
            {
                delay = next - clock.GetUtcNow().UtcDateTime + TimeSpan.FromMilliseconds(50);
            }

            try
            {
                await _wake.WaitAsync(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
