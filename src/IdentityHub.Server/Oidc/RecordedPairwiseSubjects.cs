using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The pairwise subjects (sector, sub) this process knows to be stored in PairwiseSubjects, so that an authorize
/// request of a person who signed in to the department before does not write the mapping row again (its
/// <c>INSERT ... ON CONFLICT DO NOTHING</c> was one round trip and one commit on every authorize: docs/benchmarks.md,
/// "Sign-in, eleventh session"). Safe because nothing deletes or changes those rows once stored (the table's only
/// write is that insert; no foreign key cascades into it), so a pair seen stored stays stored; a pair is noted only
/// after its insert (or the row already there) is committed. Bounded by <see cref="OidcOptions.PairwiseSubjectCacheSize"/>
/// (emptied when full); 0 turns it off.
/// </summary>
public sealed class RecordedPairwiseSubjects(IOptions<OidcOptions> options)
{
    private readonly ConcurrentDictionary<(string Sector, string Subject), byte> _stored = new();

    public bool IsStored(string sector, string subject) =>
        options.Value.PairwiseSubjectCacheSize > 0 && _stored.ContainsKey((sector, subject));

    public void NoteStored(string sector, string subject)
    {
        var size = options.Value.PairwiseSubjectCacheSize;
        if (size <= 0)
        {
            return;
        }

        if (_stored.Count >= size)
        {
            _stored.Clear();
        }

        _stored.TryAdd((sector, subject), 0);
    }
}
