using System.Data.Common;
using Npgsql;

namespace IdentityHub.Server.Audit;

// PostgreSQL: the in-transaction append sent with the transaction's COMMIT (AuditOptions.AppendWithCommit).
public static partial class AuditBatchInsert
{
    /// <summary>
    /// <see cref="Append"/>, failing instead of inserting nothing: unless every row was inserted (the head was the expected
    /// one), a cast of <see cref="Moved"/> to an integer aborts the statement (SQLSTATE 22P02, the text in the message, and
    /// in PostgreSQL's log), and with it the batch's COMMIT. The head's move and the rows are one statement, all or nothing.
    /// The cast depends on the count, so the planner cannot fold it into an error of every execution.
    /// </summary>
    private const string AppendOrFail =
        "WITH " + MoveHead + ", appended AS (" + InsertRows + " RETURNING 1) " +
        "SELECT CASE WHEN a.n = cardinality(@c0) THEN 1 ELSE ('" + Moved + ": ' || a.n)::int END FROM (SELECT count(*) AS n FROM appended) a";

    /// <summary>The text of <see cref="AppendOrFail"/>'s error: what an operator reading PostgreSQL's log needs to know.</summary>
    private const string Moved = "audit chain head moved meanwhile, the append is retried under its lock (not an error), rows appended";

    /// <summary>The savepoint the append's batch rolls back to when the head has moved.</summary>
    private const string BeforeAppend = "audit_append";

    /// <summary>
    /// PostgreSQL, in <paramref name="transaction"/> (begun by the audit interceptor, its save's statements already run):
    /// one round trip with a savepoint (prepended by Npgsql to the batch), <see cref="AppendOrFail"/> and COMMIT. True:
    /// the rows, the head's move and the rest of the transaction are committed (the transaction object is then complete: no
    /// COMMIT or ROLLBACK is sent for it any more). False: the head was not <paramref name="expected"/>; the append failed
    /// before the COMMIT ran (PostgreSQL skips the rest of a batch after an error), the transaction is rolled back to the
    /// savepoint, i.e. to the save's statements without anything of the append, still open, for the locked path. Any other
    /// failure is thrown: a failed COMMIT (the transaction has then ended, rolled back; <see cref="Ended"/>), a
    /// broken connection, or an error of the append itself (the transaction open and aborted: rolled back by the caller).
    /// Not cancellable, as a COMMIT is not: once sent, only its outcome tells whether the change is stored.
    /// </summary>
    public static async Task<bool> AppendAndCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<AuditEvent> events, string nodeId, AuditChainPosition expected, AuditChainPosition head, DateTime now)
    {
        await transaction.SaveAsync(BeforeAppend, CancellationToken.None);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var append = new NpgsqlBatchCommand(AppendOrFail);
        Fill(AppendParameters(append.Parameters), events, nodeId, expected, head, now);
        batch.BatchCommands.Add(append);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        try
        {
            await batch.ExecuteNonQueryAsync(CancellationToken.None);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidTextRepresentation && e.MessageText.Contains(Moved, StringComparison.Ordinal))
        {
            await transaction.RollbackAsync(BeforeAppend, CancellationToken.None);
            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="transaction"/> has ended on the server side (committed or rolled back by a COMMIT sent in a
    /// batch, or its connection broken), so that no COMMIT or ROLLBACK may be sent for it any more. No round trip: Npgsql
    /// refuses to read the isolation level of a transaction that has completed or was disposed.
    /// </summary>
    public static bool Ended(DbTransaction transaction)
    {
        try
        {
            _ = transaction.IsolationLevel;
            return false;
        }
        catch (InvalidOperationException)
        {
            // Also ObjectDisposedException (a broken connection disposes its transaction).
            return true;
        }
    }
}
