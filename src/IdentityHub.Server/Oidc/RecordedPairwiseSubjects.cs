using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The pairwise subjects (sector, sub) this process knows to be stored in PairwiseSubjects, so that an authorize
/// request of a person who signed in to the department before does not write the mapping row again (its
/// <c>INSERT ... ON CONFLICT DO NOTHING</c> was one round trip and one commit on every authorize: docs/benchmarks.md,
/// "Sign-in, eleventh session"). Correct, on every node, because the application never deletes or changes those rows
/// once stored (the table's only write is that insert; no foreign key cascades into it), so a pair seen stored stays
/// stored. A pair is noted once its insert statement is committed: either it inserted the row, or it conflicted with a
/// row already there, for this (sector, sub) or for this (sector, account) under another sub (the second unique key;
/// harmless: the insert does nothing and the pair is only skipped later, as the insert would do nothing again).
/// A row could still disappear outside the application (a PostgreSQL failover losing its last commits, a manual
/// erasure): a node would then skip the insert while its memory holds the pair. So every lookup of a pairwise sub
/// that finds no account through the mapping forgets the pair (<see cref="Forget"/>: SubjectIdentifiers.FindUserAsync,
/// GrantSubjects, ClaimsPersonCache), and the person's next authorize on that node writes the row again.
/// Bounded by <see cref="OidcOptions.PairwiseSubjectCacheSize"/> (emptied when full); 0 turns it off.
/// </summary>
public sealed class RecordedPairwiseSubjects(IOptions<OidcOptions> options)
{
    private readonly ConcurrentDictionary<(string Sector, string Subject), byte> _stored = new();

    /// <summary>About the pairs held (ConcurrentDictionary.Count takes every bucket's lock: not on each authorize).</summary>
    private int _count;

    public bool IsStored(string sector, string subject) =>
        options.Value.PairwiseSubjectCacheSize > 0 && _stored.ContainsKey((sector, subject));

    public void NoteStored(string sector, string subject)
    {
        var size = options.Value.PairwiseSubjectCacheSize;
        if (size <= 0)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= size)
        {
            _stored.Clear();
            Volatile.Write(ref _count, 0);
        }

        if (_stored.TryAdd((sector, subject), 0))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>A lookup of this pairwise sub found no row: it is no longer known to be stored.</summary>
    public void Forget(string sector, string subject)
    {
        if (_stored.TryRemove((sector, subject), out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
