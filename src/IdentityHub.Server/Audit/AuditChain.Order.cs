namespace IdentityHub.Server.Audit;

// Node-local order (PostgreSQL): the group commit (AuditWriter) and the transactions the audit interceptor
// begins itself (AuditChainInterceptor) take turns through EnterOrderAsync for their append
// and commit, and remember the head they committed before the next one starts: the next append's expected head is then
// the database's, and its compare-and-swap does not miss because another writer of this process moved the head just
// before (which used to cost the missed UPDATE's wait for the head's row lock, SELECT ... FOR UPDATE and another
// UPDATE, all while holding that lock). The order is only a hint like the remembered head: the head row's lock and the
// compare-and-swap still decide, so writers that do not take it (a caller's own transaction, another process on the
// node, a command) and a turn not granted within OrderWait cost a miss at worst, never a fork or a gap.
public sealed partial class AuditChain
{
    private readonly SemaphoreSlim _order = new(1, 1);
    private long _orderTimeouts;

    /// <summary>
    /// How long an append waits for its turn before it goes ahead without it (and may then miss the head). A turn lasts an
    /// append and a commit; the bound only matters if a writer that holds row locks waits for its turn while the turn's
    /// holder waits for those rows (through a transaction outside the order): PostgreSQL then sees and breaks the cycle.
    /// </summary>
    public static readonly TimeSpan OrderWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits for this process's turn to append (<see cref="OrderWait"/> at most); true when granted: the caller then calls
    /// <see cref="ExitOrder"/> once its append has committed (or failed), after <see cref="Committed"/>.
    /// </summary>
    public async Task<bool> EnterOrderAsync(CancellationToken cancellationToken)
    {
        if (await _order.WaitAsync(OrderWait, cancellationToken))
        {
            return true;
        }

        Interlocked.Increment(ref _orderTimeouts);
        return false;
    }

    public void ExitOrder() => _order.Release();

    /// <summary>Appends that went ahead without their turn (tests, diagnostics).</summary>
    public long OrderTimeouts => Interlocked.Read(ref _orderTimeouts);
}
