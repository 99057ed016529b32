using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace IdentityHub.Server.Audit;

// PostgreSQL: the audit rows of a SaveChanges in a transaction the audit interceptor began (AuditChainInterceptor),
// appended after the save's own statements, in that transaction.
public sealed partial class AuditChain
{
    /// <summary>
    /// PostgreSQL, inside the context's open transaction, after its SaveChanges has sent the state change's own statements
    /// (<see cref="AuditChainInterceptor"/>): seals <paramref name="events"/> from the head this process last committed and
    /// inserts them with the head's move in one statement (<see cref="AuditBatchInsert.AppendAsync(NpgsqlConnection, NpgsqlTransaction?, IReadOnlyList{AuditEvent}, string, AuditChainPosition, AuditChainPosition, DateTime, CancellationToken)"/>);
    /// when that head is unknown or was moved meanwhile (nothing written), reads the head under lock and appends from there
    /// (the compare-and-swap then holds: the row is locked by this transaction). The rows and the head's move commit with
    /// the caller's transaction, both or neither. Batches above <see cref="AuditBatchInsert.SingleStatementMaxRows"/>:
    /// <see cref="SealAsync(DbContext, IReadOnlyList{AuditEvent}, CancellationToken)"/> and COPY.
    /// <para>
    /// With <paramref name="commit"/> and <see cref="AuditOptions.AppendWithCommit"/>, the optimistic append goes with the
    /// transaction's COMMIT in one batch (<see cref="AuditBatchInsert.AppendAndCommitAsync"/>): when it holds, the transaction
    /// has committed on return (<c>Committed</c> true: the caller ends its transaction object without another COMMIT); a
    /// head moved meanwhile makes that statement fail before the COMMIT runs, the transaction is rolled back to the
    /// savepoint taken just before it (the save's own rows stay, nothing of the append does) and the locked path follows,
    /// leaving the commit to the caller as before.
    /// </para>
    /// Returns the new head, for <see cref="Committed(AuditChainPosition)"/> once the transaction has committed.
    /// </summary>
    public async Task<(AuditChainPosition Head, bool Committed)> AppendInTransactionAsync(DbContext db, IReadOnlyList<AuditEvent> events,
        bool commit, CancellationToken cancellationToken)
    {
        var transaction = (NpgsqlTransaction)(db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Audit rows are appended inside a transaction."));
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (events.Count > AuditBatchInsert.SingleStatementMaxRows)
        {
            var sealedHead = await SealAsync(connection, transaction, postgres: true, events, cancellationToken);
            await AuditBatchInsert.CopyAsync(connection, events, cancellationToken);
            return (sealedHead, false);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var expected = Volatile.Read(ref _head);
        if (expected is not null && _headEnsured)
        {
            var (head, checkpointed) = Seal(events, expected);
            if (commit && _appendWithCommit)
            {
                // All of them and committed, or none and the transaction as it was before the append.
                var committed = await AuditBatchInsert.AppendAndCommitAsync(connection, transaction, events, NodeId, expected, head, now);
                if (Appended(committed ? events.Count : 0, events.Count, expected, checkpointed, ref _inTransactionAppends))
                {
                    return (head, true);
                }
            }
            else
            {
                var inserted = await AuditBatchInsert.AppendAsync(connection, transaction, events, NodeId, expected, head, now, cancellationToken);
                if (Appended(inserted, events.Count, expected, checkpointed, ref _inTransactionAppends))
                {
                    return (head, false);
                }
            }
        }

        var locked = await LockHeadAsync(connection, transaction, postgres: true, cancellationToken);
        var (lockedHead, lockedCheckpoint) = Seal(events, locked);
        var written = await AuditBatchInsert.AppendAsync(connection, transaction, events, NodeId, locked, lockedHead, now, cancellationToken);
        if (written != events.Count)
        {
            // The head is locked by this transaction: it cannot have moved since it was read.
            throw new InvalidOperationException($"The audit append under the head's lock wrote {written} of {events.Count} events.");
        }

        Interlocked.Increment(ref _inTransactionAppends);
        Count(events.Count, lockedCheckpoint);
        return (lockedHead, false);
    }
}
