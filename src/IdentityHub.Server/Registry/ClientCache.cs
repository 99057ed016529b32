using System.Collections.Concurrent;
using System.Collections.Immutable;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Registry;

/// <summary>One active secret of the ClientSecrets table: its hash and expiry (checked against the clock at every use).</summary>
public readonly record struct CachedSecret(string Hash, DateTime? ExpiresAtUtc)
{
    public bool IsActive(DateTime nowUtc) => ExpiresAtUtc is null || ExpiresAtUtc > nowUtc;

    /// <summary>
    /// Whether <paramref name="secret"/> is one of these secrets and that one is active. Every secret is compared (no early
    /// exit), so timing does not tell which one matched; an expired secret is refused by the clock, whatever a cache holds.
    /// </summary>
    public static bool AnyMatches(IEnumerable<CachedSecret> secrets, string secret, DateTime nowUtc)
    {
        var valid = false;
        foreach (var candidate in secrets)
        {
            valid |= SecretHasher.Verify(secret, candidate.Hash) & candidate.IsActive(nowUtc);
        }

        return valid;
    }
}

/// <summary>
/// Everything client authentication and the protocol endpoints read about one client, loaded together: the OpenIddict
/// application (detached: never tracked, never handed out, see <see cref="HubApplicationManager"/>), its secrets that
/// were neither revoked nor expired when loaded (with their expiry times), and the registry's policy row (client and
/// department). Immutable once built.
/// </summary>
public sealed class ClientSnapshot
{
    internal ClientSnapshot(HubApplication application, ImmutableArray<CachedSecret> secrets, ClientPolicyRow policy, long generation, long loadedAt)
    {
        Application = application;
        Secrets = secrets;
        Row = policy;
        Generation = generation;
        LoadedAt = loadedAt;
        IdTokenOnRefresh = Oidc.RefreshIdTokens.Of(application.Settings);
    }

    public HubApplication Application { get; }

    public ImmutableArray<CachedSecret> Secrets { get; }

    public ClientPolicyRow Row { get; }

    internal long Generation { get; }

    internal long LoadedAt { get; }

    /// <summary>The policy built from <see cref="Row"/>, memoised by <see cref="ClientPolicies"/> (immutable, so a race only builds it twice).</summary>
    internal ClientPolicy? Policy { get; set; }

    /// <summary>What the introspection fast path derives from the application (Oidc/Handlers/IntrospectionFastPath), memoised
    /// like <see cref="FastPath"/>.</summary>
    internal object? IntrospectionFastPath { get; set; }

    /// <summary>What the client_credentials fast path derives from the application (Oidc/Handlers/ClientCredentialsFastPath),
    /// memoised like <see cref="Policy"/>; it goes with the entry when the entry is invalidated.</summary>
    internal object? FastPath { get; set; }

    /// <summary>What the code and refresh grants' fast paths derive from the application (Oidc/Handlers/GrantFastPathClients),
    /// memoised like <see cref="FastPath"/>.</summary>
    internal object? GrantFastPath { get; set; }

    /// <summary>The algorithms the client registered for its ID and access tokens (Oidc/TokenSigning), read once per snapshot.</summary>
    public Oidc.ClientSigning Signing => _signing ??= Oidc.TokenSigning.Of(Application.Settings);

    private Oidc.ClientSigning? _signing;

    /// <summary>Whether the client's refreshes return an ID token (Oidc/RefreshIdTokens), read once when the snapshot is made.</summary>
    public bool IdTokenOnRefresh { get; }

    /// <summary>A fresh, detached copy of the application for one request: callers may change it without touching the cache.</summary>
    public HubApplication CopyApplication()
    {
        var a = Application;
        return new HubApplication
        {
            Id = a.Id,
            ApplicationType = a.ApplicationType,
            ClientId = a.ClientId,
            ClientSecret = a.ClientSecret,
            ClientType = a.ClientType,
            ConcurrencyToken = a.ConcurrencyToken,
            ConsentType = a.ConsentType,
            DisplayName = a.DisplayName,
            DisplayNames = a.DisplayNames,
            JsonWebKeySet = a.JsonWebKeySet,
            Permissions = a.Permissions,
            PostLogoutRedirectUris = a.PostLogoutRedirectUris,
            Properties = a.Properties,
            RedirectUris = a.RedirectUris,
            Requirements = a.Requirements,
            Settings = a.Settings,
            DepartmentId = a.DepartmentId,
            Kind = a.Kind,
            Status = a.Status,
            SubjectType = a.SubjectType,
            ClaimPolicy = a.ClaimPolicy,
            MinimumAssuranceLevel = a.MinimumAssuranceLevel,
            RequireMultiFactor = a.RequireMultiFactor,
            BackChannelLogoutUri = a.BackChannelLogoutUri,
            FrontChannelLogoutUri = a.FrontChannelLogoutUri,
            CreatedAtUtc = a.CreatedAtUtc,
            UpdatedAtUtc = a.UpdatedAtUtc,
        };
    }
}

/// <summary>
/// How this node learns that another node changed a client. One node: nothing to learn (<see cref="LocalClientChanges"/>).
/// Shared mode (Scale/): a cluster signal on every commit, and a shared generation number as the backstop for a lost
/// signal or a Redis outage.
/// </summary>
public interface IClientChangeFeed
{
    /// <summary>False on one node: then <see cref="ReadGenerationAsync"/> is never called.</summary>
    bool IsShared { get; }

    /// <summary>Tells the other nodes, after this node committed a change to a client, its secrets or its department.</summary>
    Task PublishAsync();

    /// <summary>The shared generation, or null when it cannot be read (then the node trusts nothing it cached).</summary>
    Task<string?> ReadGenerationAsync();

    /// <summary>Calls <paramref name="changed"/> whenever a node (this one included) announces a change.</summary>
    IDisposable Subscribe(Action changed);
}

public sealed class LocalClientChanges : IClientChangeFeed
{
    public bool IsShared => false;

    public Task PublishAsync() => Task.CompletedTask;

    public Task<string?> ReadGenerationAsync() => Task.FromResult<string?>(null);

    public IDisposable Subscribe(Action changed) => NoSubscription.Instance;

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// This node's cache of <see cref="ClientSnapshot"/>s by client id, so that a token, introspection or revocation request
/// reads nothing from the registry in the steady state (OpenIddict alone asks for the application up to ten times per
/// request; its own entity cache stays disabled, see RegistryExtensions).
/// <para>Coherence. Every committed change to a client, its secrets or a department (<see cref="RegistryChangeInterceptor"/>)
/// empties the cache before the change's request answers, so this node's next request reads the new state. Other nodes
/// (shared mode) empty theirs when they hear the change's cluster signal; should the signal be lost, each node compares
/// the shared generation at most once per <see cref="RegistryOptions.ClientCacheCheckInterval"/> (when it serves a
/// request) and empties its cache when the generation moved or cannot be read. A change on another node therefore
/// applies here after the signal's delivery (milliseconds), and at worst after one check interval plus a Redis round
/// trip. Every entry also expires <see cref="RegistryOptions.ClientCacheLifetime"/> after it was loaded, whatever
/// happens (a node cut off from Redis while the others see it). A load that overlaps a change is never stored (the
/// generation it started under is checked before it is kept).</para>
/// <para>Memory: only clients that exist are kept (an unknown client id reads the database every time, as before, and
/// adds nothing), and at most <see cref="RegistryOptions.ClientCacheSize"/> of them; beyond that, clients are read per
/// request.</para>
/// </summary>
public sealed class ClientCache : IDisposable
{
    private readonly ConcurrentDictionary<string, ClientSnapshot> _entries = new(StringComparer.Ordinal);
    private readonly IClientChangeFeed _feed;
    private readonly TimeProvider _clock;
    private readonly IOptionsMonitor<RegistryOptions> _options;
    private readonly IDisposable _subscription;
    private long _generation;
    private long _nextCheck;
    private int _checking;
    private string? _sharedGeneration;

    public ClientCache(IClientChangeFeed feed, TimeProvider clock, IOptionsMonitor<RegistryOptions> options)
    {
        _feed = feed;
        _clock = clock;
        _options = options;
        _subscription = feed.Subscribe(Invalidate);
    }

    public int Count => _entries.Count;

    /// <summary>The client (from this node's memory when current), or null when no client has this id.</summary>
    public ValueTask<ClientSnapshot?> FindAsync(string clientId, IdentityHubDbContext db, CancellationToken cancellationToken) =>
        FindAsync(clientId, db, null, cancellationToken);

    /// <summary>
    /// As <see cref="FindAsync(string, IdentityHubDbContext, CancellationToken)"/>, the database context taken from the
    /// request's services only when the client has to be read (a fast path leases no pooled context for a cached client).
    /// </summary>
    public ValueTask<ClientSnapshot?> FindAsync(string clientId, IServiceProvider services, CancellationToken cancellationToken) =>
        FindAsync(clientId, null, services, cancellationToken);

    private async ValueTask<ClientSnapshot?> FindAsync(string clientId, IdentityHubDbContext? db, IServiceProvider? services,
        CancellationToken cancellationToken)
    {
        if (clientId.AsSpan().ContainsAnyInRange('\0', '\u001f'))
        {
            // No registered client id has a control character (ClientRegistration's pattern), and PostgreSQL refuses a
            // NUL in a query parameter: unknown, without asking the database.
            return null;
        }

        if (_feed.IsShared)
        {
            await CheckSharedGenerationAsync();
        }

        var generation = Volatile.Read(ref _generation);
        var now = _clock.GetTimestamp();
        if (_entries.TryGetValue(clientId, out var cached) && cached.Generation == generation
            && _clock.GetElapsedTime(cached.LoadedAt, now) < _options.CurrentValue.ClientCacheLifetime)
        {
            return cached;
        }

        var loaded = await LoadAsync(clientId, db ?? services!.GetRequiredService<IdentityHubDbContext>(), generation, now, cancellationToken);
        if (loaded is null)
        {
            _entries.TryRemove(clientId, out _);
            return null;
        }

        // Kept only if no change committed meanwhile: a change bumps the generation after its commit, so a load that
        // may have read the state before it is never stored under the new generation.
        if (Volatile.Read(ref _generation) == generation
            && (_entries.Count < _options.CurrentValue.ClientCacheSize || _entries.ContainsKey(clientId)))
        {
            _entries[clientId] = loaded;
        }

        return loaded;
    }

    /// <summary>Forgets every client (a change committed here or elsewhere); the next request of each reads the database.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    /// <summary>A change to a client, its secrets or a department committed on this node: forget here, then tell the others.</summary>
    public Task ChangedAsync()
    {
        Invalidate();
        return _feed.PublishAsync();
    }

    public void Dispose() => _subscription.Dispose();

    private async Task CheckSharedGenerationAsync()
    {
        var now = _clock.GetTimestamp();
        if (now < Volatile.Read(ref _nextCheck) || Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }

        try
        {
            var shared = await _feed.ReadGenerationAsync();
            // Moved, or unknown (Redis away: a change elsewhere may have gone unannounced), or unknown last time.
            if (shared is null || shared != _sharedGeneration)
            {
                Invalidate();
            }

            _sharedGeneration = shared;
            var interval = _options.CurrentValue.ClientCacheCheckInterval;
            Volatile.Write(ref _nextCheck, now + (long)(interval.TotalSeconds * _clock.TimestampFrequency));
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private async Task<ClientSnapshot?> LoadAsync(string clientId, IdentityHubDbContext db, long generation, long now,
        CancellationToken cancellationToken)
    {
        var found = await db.Set<HubApplication>().AsNoTracking()
            .Where(a => a.ClientId == clientId)
            .Select(a => new
            {
                Application = a,
                Code = a.Department == null ? null : a.Department.Code,
                Name = a.Department == null ? null : a.Department.Name,
                SectorId = a.Department == null ? null : a.Department.SectorId,
                Status = a.Department == null ? DepartmentStatus.Active : a.Department.Status,
                Ceiling = a.Department == null ? null : a.Department.ClaimCeiling,
            })
            .SingleOrDefaultAsync(cancellationToken);
        // The database's collation may compare case-insensitively; client ids are exact (as OpenIddict's own filter).
        if (found is null || !string.Equals(found.Application.ClientId, clientId, StringComparison.Ordinal))
        {
            return null;
        }

        var application = found.Application;
        var secrets = ImmutableArray<CachedSecret>.Empty;
        if (application.ClientSecret == SecretHasher.TableMarker)
        {
            // Revoked secrets are left out; expired ones too, and those still active are checked against the clock at each use.
            var nowUtc = _clock.GetUtcNow().UtcDateTime;
            secrets = [.. await db.ClientSecrets.AsNoTracking()
                .Where(s => s.ApplicationId == application.Id && s.RevokedAtUtc == null && (s.ExpiresAtUtc == null || s.ExpiresAtUtc > nowUtc))
                .Select(s => new CachedSecret(s.Hash, s.ExpiresAtUtc))
                .ToListAsync(cancellationToken)];
        }

        var row = new ClientPolicyRow(application.Id!, application.Status, application.SubjectType, application.ClaimPolicy,
            application.MinimumAssuranceLevel, application.RequireMultiFactor, found.Code, found.Name, found.SectorId, found.Status, found.Ceiling);
        return new ClientSnapshot(application, secrets, row, generation, now);
    }
}
