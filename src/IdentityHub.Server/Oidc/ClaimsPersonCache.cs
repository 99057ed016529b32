using System.Collections.Concurrent;
using System.Globalization;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc;

/// <summary>Section "PersonCache": this node's cache of the persons the userinfo endpoint builds claims from.</summary>
public sealed class ClaimsPersonCacheOptions
{
    public const string Section = "PersonCache";

    /// <summary>
    /// How long this node keeps a person in memory at most, even without any change (every committed change of the
    /// person empties its entry at once). Zero disables the cache (every userinfo request reads the database). Default 5 minutes.
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many persons (and as many pairwise subjects) this node keeps at most; the least recently loaded go first. Default 10,000.</summary>
    public int Size { get; set; } = 10_000;

    /// <summary>
    /// Shared mode: how often at most a node compares the shared person generation in Redis with the change signals it
    /// heard, the backstop for a lost signal (a change on another node then applies here within this interval). Default 1 second.
    /// </summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>One committed change of persons, as the cluster signal carries it.</summary>
/// <param name="Generation">The shared generation the change moved to (null: unknown, Redis could not be told).</param>
/// <param name="UserIds">The accounts whose entries are stale.</param>
/// <param name="Everything">Every entry and pairwise subject is stale (too many ids, or a pairwise subject changed).</param>
public sealed record PersonChange(long? Generation, IReadOnlyList<string> UserIds, bool Everything);

/// <summary>
/// How this node learns that another node changed a person. One node: nothing to learn (<see cref="LocalPersonChanges"/>).
/// Shared mode (Scale/<see cref="Scale.RedisPersonChanges"/>): a cluster signal naming the accounts on every commit, and a
/// shared generation number as the backstop for a lost signal or a Redis outage.
/// </summary>
public interface IPersonChangeFeed
{
    /// <summary>False on one node: then <see cref="ReadGenerationAsync"/> is never called.</summary>
    bool IsShared { get; }

    /// <summary>Tells the other nodes, after this node committed a change to these accounts (or to everything).</summary>
    Task PublishAsync(IReadOnlyCollection<string> userIds, bool everything);

    /// <summary>The shared generation, or null when it cannot be read (then the node trusts nothing it cached).</summary>
    Task<long?> ReadGenerationAsync();

    /// <summary>Calls <paramref name="changed"/> whenever a node (this one included) announces a change.</summary>
    IDisposable Subscribe(Action<PersonChange> changed);
}

public sealed class LocalPersonChanges : IPersonChangeFeed
{
    public bool IsShared => false;

    public Task PublishAsync(IReadOnlyCollection<string> userIds, bool everything) => Task.CompletedTask;

    public Task<long?> ReadGenerationAsync() => Task.FromResult<long?>(null);

    public IDisposable Subscribe(Action<PersonChange> changed) => NoSubscription.Instance;

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// This node's cache of the claims person (<see cref="SubjectIdentifiers.FindClaimsPersonAsync"/>: the account columns
/// claims are built from, its real-name record and evidence) by account id, and of pairwise subjects by (sector, sub), so
/// that a userinfo request reads nothing from the database in the steady state.
/// <para>Coherence. Every committed change of an account, its real-name record or its evidence
/// (<see cref="PersonChangeInterceptor"/>) empties that account's entry before the change's request answers, so this node's
/// next request reads the new state (a deleted account: no entry, no row, 401). Other nodes (shared mode) empty theirs when
/// they hear the change's cluster signal, which names the accounts and the shared generation the change moved to; should a
/// signal be lost, each node compares the shared generation with the signals it heard at most once per
/// <see cref="ClaimsPersonCacheOptions.CheckInterval"/> (when it serves a request) and empties its whole cache when one is
/// missing or the generation cannot be read. A change on another node therefore applies here after the signal's
/// delivery (milliseconds), and at worst after one check interval plus a Redis round trip. Every entry also expires
/// <see cref="ClaimsPersonCacheOptions.Lifetime"/> after it was loaded, whatever happens. A load that overlaps a change is
/// never stored (a change moves the local generation after its commit; a load is kept only under the generation it
/// started with, checked under the write lock that changes also take).</para>
/// <para>Pairwise subjects: a (sector, sub) row is written once and never changed (<see cref="PairwiseSubject"/>); should
/// one ever be changed or deleted, the whole cache is emptied on every node.</para>
/// <para>Memory: only persons that exist are kept (an unknown sub reads the database every time and adds nothing), at most
/// <see cref="ClaimsPersonCacheOptions.Size"/> of them, in two halves: when the newer half is full, the older is dropped
/// (an entry still in use is then read once more). The <see cref="Person"/>s handed out are shared by every request:
/// read-only, never for saving (no password hash, stamps or lockout state, as before), and the ID number stays encrypted.</para>
/// </summary>
public sealed class ClaimsPersonCache : IDisposable
{
    /// <summary>More accounts than this in one change: the signal says "everything" instead of naming them.</summary>
    public const int MaxNamedPerSignal = 256;

    private readonly IPersonChangeFeed _feed;
    private readonly TimeProvider _clock;
    private readonly IOptionsMonitor<ClaimsPersonCacheOptions> _options;
    private readonly ClaimsPersonQueries _queries;
    private readonly RecordedPairwiseSubjects _recorded;
    private readonly IDisposable _subscription;
    private readonly Lock _write = new();
    private readonly Lock _heardLock = new();
    private readonly HashSet<long> _heard = [];
    private readonly Halves<Entry> _persons = new();
    private readonly Halves<string> _subjects = new();
    private long _generation;
    private long _nextCheck;
    private int _checking;
    private long? _checkedGeneration;

    public ClaimsPersonCache(IPersonChangeFeed feed, TimeProvider clock, IOptionsMonitor<ClaimsPersonCacheOptions> options, ClaimsPersonQueries queries,
        RecordedPairwiseSubjects recorded)
    {
        _feed = feed;
        _clock = clock;
        _options = options;
        _queries = queries;
        _recorded = recorded;
        _subscription = feed.Subscribe(Heard);
    }

    /// <summary>Persons held now (both halves).</summary>
    public int Count => _persons.Count;

    /// <summary>
    /// The person <paramref name="subject"/> stands for as <paramref name="client"/> sees it (public or pairwise sub), from
    /// this node's memory when current, else read (one round trip) and kept; null when there is none.
    /// </summary>
    public async ValueTask<Person?> FindAsync(string? subject, ClientPolicy? client, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subject) || client is null)
        {
            return null;
        }

        var options = _options.CurrentValue;
        if (options.Lifetime <= TimeSpan.Zero || options.Size <= 0)
        {
            return Materialise(client.SubjectType == SubjectType.Public
                ? await _queries.Public(Db(services), subject, cancellationToken)
                : await PairwiseAsync(client, subject, services, cancellationToken));
        }

        if (_feed.IsShared)
        {
            await CheckSharedGenerationAsync(options);
        }

        var generation = Volatile.Read(ref _generation);
        var now = _clock.GetTimestamp();
        string? userId;
        string? subjectKey = null;
        if (client.SubjectType == SubjectType.Public)
        {
            userId = subject;
        }
        else
        {
            subjectKey = client.SectorId + "\n" + subject;
            _subjects.TryGet(subjectKey, out userId);
        }

        if (userId is not null && _persons.TryGet(userId, out var cached) && _clock.GetElapsedTime(cached.LoadedAt, now) < options.Lifetime)
        {
            return cached.Person;
        }

        // A pairwise sub already resolved reads the account by its id (the cheaper query); an unknown one through the mapping.
        var row = userId is not null
            ? await _queries.Public(Db(services), userId, cancellationToken)
            : await PairwiseAsync(client, subject, services, cancellationToken);
        var person = Materialise(row);
        if (person is null)
        {
            return null;
        }

        lock (_write)
        {
            // Kept only if no change committed meanwhile (a change moves the generation under this lock, after its commit).
            if (_generation == generation)
            {
                _persons.Set(person.User.Id, new Entry(person, now), options.Size / 2);
                if (subjectKey is not null)
                {
                    _subjects.Set(subjectKey, person.User.Id, options.Size / 2);
                }
            }
        }

        return person;
    }

    /// <summary>Changes to these accounts committed on this node: forget them here, then tell the others.</summary>
    public Task ChangedAsync(IReadOnlyCollection<string> userIds, bool everything)
    {
        if (everything)
        {
            InvalidateAll();
        }
        else
        {
            Invalidate(userIds);
        }

        return _feed.PublishAsync(userIds, everything);
    }

    /// <summary>Forgets these accounts; their next request reads the database.</summary>
    public void Invalidate(IEnumerable<string> userIds)
    {
        lock (_write)
        {
            foreach (var id in userIds)
            {
                _persons.Remove(id);
            }

            // After the removal: a load that began before it is not kept (pairwise subjects stay: they never change).
            _generation++;
        }
    }

    /// <summary>Forgets every person and pairwise subject.</summary>
    public void InvalidateAll()
    {
        lock (_write)
        {
            _persons.Clear();
            _subjects.Clear();
            _generation++;
        }
    }

    public void Dispose() => _subscription.Dispose();

    private static IdentityHubDbContext Db(IServiceProvider services) => services.GetRequiredService<IdentityHubDbContext>();

    /// <summary>The account through the pairwise mapping; none found forgets the pair (<see cref="RecordedPairwiseSubjects"/>).</summary>
    private async Task<ClaimsPersonQueries.ClaimsPersonRow?> PairwiseAsync(ClientPolicy client, string subject, IServiceProvider services,
        CancellationToken cancellationToken)
    {
        var row = await _queries.Pairwise(Db(services), client.SectorId, subject, cancellationToken);
        if (row is null)
        {
            _recorded.Forget(client.SectorId, subject);
        }

        return row;
    }

    private static Person? Materialise(ClaimsPersonQueries.ClaimsPersonRow? row) => row is null ? null : SubjectIdentifiers.ToPerson(row);

    private void Heard(PersonChange change)
    {
        if (change.Everything)
        {
            InvalidateAll();
        }
        else
        {
            Invalidate(change.UserIds);
        }

        if (change.Generation is { } generation)
        {
            lock (_heardLock)
            {
                // Only generations the next check may still ask about (bounded: the check prunes what it has compared).
                if ((_checkedGeneration is null || generation > _checkedGeneration) && _heard.Count < 65_536)
                {
                    _heard.Add(generation);
                }
            }
        }
    }

    private async Task CheckSharedGenerationAsync(ClaimsPersonCacheOptions options)
    {
        var now = _clock.GetTimestamp();
        if (now < Volatile.Read(ref _nextCheck) || Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }

        try
        {
            var shared = await _feed.ReadGenerationAsync();
            var missed = false;
            lock (_heardLock)
            {
                // Unknown (Redis away: a change elsewhere may have gone unannounced), unknown last time, gone backwards, or a
                // generation between the last check and now whose signal this node did not hear.
                if (shared is null || _checkedGeneration is not { } last || shared < last || shared - last > 65_536)
                {
                    missed = true;
                }
                else
                {
                    for (var g = last + 1; g <= shared; g++)
                    {
                        if (!_heard.Contains(g))
                        {
                            missed = true;
                            break;
                        }
                    }
                }

                if (shared is { } current)
                {
                    _heard.RemoveWhere(g => g <= current);
                }
                else
                {
                    _heard.Clear();
                }

                _checkedGeneration = shared;
            }

            if (missed)
            {
                InvalidateAll();
            }

            Volatile.Write(ref _nextCheck, now + (long)(options.CheckInterval.TotalSeconds * _clock.TimestampFrequency));
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    /// <summary>What a signal carries: "generation id id ..." ("-" for an unknown generation, "*" for everything).</summary>
    public static string Format(long? generation, IReadOnlyCollection<string> userIds, bool everything) =>
        (generation?.ToString(CultureInfo.InvariantCulture) ?? "-") + " "
        + (everything || userIds.Count > MaxNamedPerSignal ? "*" : string.Join(' ', userIds));

    public static PersonChange Parse(string argument)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long? generation = parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : null;
        var ids = parts.Skip(1).ToList();
        // Unreadable: treated as "everything" (a signal is never ignored).
        return new PersonChange(generation, ids, parts.Length == 0 || ids.Contains("*"));
    }

    private sealed record Entry(Person Person, long LoadedAt);

    /// <summary>
    /// A bounded map in two halves: lookups read both, writes go to the newer; when the newer holds its half of the size,
    /// it becomes the older and the older is dropped. Writes only under the cache's write lock.
    /// </summary>
    private sealed class Halves<T>
        where T : class
    {
        private ConcurrentDictionary<string, T> _newer = new(StringComparer.Ordinal);
        private ConcurrentDictionary<string, T> _older = new(StringComparer.Ordinal);

        public int Count => _newer.Count + _older.Count;

        public bool TryGet(string key, out T value) =>
            _newer.TryGetValue(key, out value!) || _older.TryGetValue(key, out value!);

        public void Set(string key, T value, int half)
        {
            if (_newer.Count >= Math.Max(1, half) && !_newer.ContainsKey(key))
            {
                _older = _newer;
                _newer = new ConcurrentDictionary<string, T>(StringComparer.Ordinal);
            }

            _newer[key] = value;
            // Not in both: the older copy would outlive a removal of the newer only by mistake.
            _older.TryRemove(key, out _);
        }

        public void Clear()
        {
            _newer.Clear();
            _older.Clear();
        }

        public void Remove(string key)
        {
            _newer.TryRemove(key, out _);
            _older.TryRemove(key, out _);
        }
    }
}
