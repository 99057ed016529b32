namespace IdentityHub.Server.Audit;

/// <summary>
/// One position of a node's chain as stored: a row (with the hash recomputed from its content) or a gap left by
/// retention (bridged by the first removed row's previous hash and the last removed row's hash).
/// </summary>
public sealed record ChainItem(long Sequence, long LastSequence, long? RecordId, string PreviousHash, string Hash, string? ComputedHash,
    CheckpointData? Checkpoint = null)
{
    public bool IsGap => RecordId is null;

    public static ChainItem Row(AuditEvent e) => new(e.Sequence ?? 0, e.Sequence ?? 0, e.Id, e.PreviousHash ?? "", e.Hash ?? "", AuditHash.Compute(e),
        e.EventType == AuditChain.CheckpointType ? CheckpointData.Parse(e.Data) ?? new CheckpointData(-1, "", "", "", "") : null);

    public static ChainItem Gap(AuditArchiveGap gap) => new(gap.FirstSequence, gap.LastSequence, null, gap.PreviousHash, gap.LastHash, null);
}

public static class AuditFindingKinds
{
    /// <summary>A row's content no longer matches its hash, or a row was changed and re-hashed (the next row links elsewhere).</summary>
    public const string Altered = "altered";

    /// <summary>Rows are missing: the next row links to a hash no stored row or archive gap has.</summary>
    public const string Deleted = "deleted";

    /// <summary>A row that is not part of the chain: nothing links to it, or it links to nothing.</summary>
    public const string Inserted = "inserted";

    /// <summary>A chain row stored at the wrong position (its sequence was changed).</summary>
    public const string Reordered = "reordered";

    /// <summary>A checkpoint whose signature does not verify: the chain before it was rewritten, or the checkpoint forged.</summary>
    public const string CheckpointInvalid = "checkpoint_invalid";

    /// <summary>Warning only: a checkpoint signed by a key no longer configured.</summary>
    public const string CheckpointUnverifiable = "checkpoint_unverifiable";

    /// <summary>Archive gaps that do not match what their archive event recorded.</summary>
    public const string GapMismatch = "gap_mismatch";

    public static bool IsFailure(string kind) => kind != CheckpointUnverifiable;
}

public sealed record AuditFinding(string Kind, string NodeId, long? Sequence, long? RecordId, string Detail);

/// <summary>
/// Walks one node's chain in sequence order, with a bounded look-ahead, and names what does not fit: an altered
/// row (content vs hash), rows deleted (a link to a hash nobody has), a row inserted (nothing links to it, or it
/// links to nothing), rows reordered (a row stored before its predecessor), and bad checkpoint signatures.
/// The chain order is fixed by the links, not by the sequence numbers, so renumbering cannot hide anything.
/// </summary>
public sealed class AuditChainWalker(string nodeId, AuditSigner? signer, int window = 4096)
{
    private readonly List<AuditFinding> _findings = [];
    private readonly Dictionary<string, ChainItem> _pending = new(StringComparer.Ordinal);
    private readonly LinkedList<ChainItem> _ahead = new();
    private string _expected = AuditHash.Genesis;
    private string _beforeLast = AuditHash.Genesis;
    private ChainItem? _last;

    public IReadOnlyList<AuditFinding> Findings => _findings;

    public long Rows { get; private set; }

    public long Checkpoints { get; private set; }

    /// <summary>The hash the chain ends with, to compare with the node's head.</summary>
    public string EndHash => _expected;

    public long EndSequence => _last?.LastSequence ?? 0;

    public async Task WalkAsync(IAsyncEnumerable<ChainItem> items)
    {
        await using var source = items.GetAsyncEnumerator();
        var exhausted = false;
        while (true)
        {
            while (!exhausted && _ahead.Count < window)
            {
                if (await source.MoveNextAsync())
                {
                    _ahead.AddLast(source.Current);
                }
                else
                {
                    exhausted = true;
                }
            }

            if (_ahead.First is not { } first)
            {
                break;
            }

            _ahead.RemoveFirst();
            Step(first.Value);
        }

        foreach (var orphan in _pending.Values.OrderBy(p => p.Sequence))
        {
            Report(AuditFindingKinds.Inserted, orphan, "links to a hash that no row of the chain has: not part of the chain");
        }
    }

    private void Step(ChainItem item)
    {
        if (!item.IsGap && item.ComputedHash != item.Hash)
        {
            Report(AuditFindingKinds.Altered, item, "its content does not match its hash");
        }

        if (item.PreviousHash == _expected)
        {
            Accept(item);
            return;
        }

        // The last accepted row sits between two rows that link to each other: it was inserted.
        if (_last is { IsGap: false } last && item.PreviousHash == _beforeLast && !_ahead.Any(a => a.PreviousHash == last.Hash))
        {
            Report(AuditFindingKinds.Inserted, last, "the next row links past it: not part of the chain");
            _expected = _beforeLast;
            Accept(item);
            return;
        }

        var successor = _ahead.FirstOrDefault(a => a.PreviousHash == _expected);
        if (successor is not null)
        {
            if (_ahead.Any(a => a.Hash == item.PreviousHash) && _pending.TryAdd(item.PreviousHash, item))
            {
                // Displaced: it belongs after a row stored later. Take the right successor now.
                _ahead.Remove(successor);
                Report(AuditFindingKinds.Reordered, successor, $"stored at sequence {successor.Sequence}, but the chain continues with it after sequence {EndSequence}");
                Accept(successor);
            }
            else
            {
                Report(AuditFindingKinds.Inserted, item, "it links to no row of the chain and the next row skips it: not part of the chain");
            }

            return;
        }

        if (item.Sequence > EndSequence + 1)
        {
            Report(AuditFindingKinds.Deleted, item,
                $"{item.Sequence - EndSequence - 1} row(s) after sequence {EndSequence} are missing (sequences {EndSequence + 1}..{item.Sequence - 1})");
        }
        else
        {
            Report(AuditFindingKinds.Altered, _last ?? item,
                $"the row after it (sequence {item.Sequence}) links to another hash: this row was changed and re-hashed, or rows were deleted and renumbered");
        }

        Accept(item);
    }

    private void Accept(ChainItem item)
    {
        _beforeLast = _expected;
        _expected = item.Hash;
        _last = item;
        Rows += item.IsGap ? 0 : 1;
        if (item.Checkpoint is { } checkpoint)
        {
            CheckCheckpoint(item, checkpoint);
        }

        while (_pending.Remove(_expected, out var next))
        {
            Report(AuditFindingKinds.Reordered, next, $"stored at sequence {next.Sequence}, but the chain places it after sequence {item.LastSequence}");
            Accept(next);
        }
    }

    private void CheckCheckpoint(ChainItem item, CheckpointData checkpoint)
    {
        Checkpoints++;
        if (signer is null)
        {
            return;
        }

        if (checkpoint.Hash != item.PreviousHash)
        {
            Report(AuditFindingKinds.CheckpointInvalid, item,
                $"it vouches for hash {checkpoint.Hash[..Math.Min(12, checkpoint.Hash.Length)]}… at sequence {checkpoint.Sequence}, but the chain before it now ends differently: rewritten");
            return;
        }

        var valid = signer.Verify(AuditSigner.CheckpointPayload(nodeId, checkpoint.Sequence, checkpoint.Hash),
            new AuditSignature(checkpoint.KeyId, checkpoint.Algorithm, checkpoint.Signature));
        if (valid == false)
        {
            Report(AuditFindingKinds.CheckpointInvalid, item, "its signature does not verify: the checkpoint was forged or altered");
        }
        else if (valid is null)
        {
            Report(AuditFindingKinds.CheckpointUnverifiable, item, $"signed by key {checkpoint.KeyId}, which is not configured");
        }
        else if (checkpoint.Sequence != item.Sequence - 1)
        {
            Report(AuditFindingKinds.CheckpointInvalid, item,
                $"signed right after sequence {checkpoint.Sequence}, now stored at {item.Sequence}: rows before it were inserted, deleted or renumbered");
        }
    }

    private void Report(string kind, ChainItem item, string detail) =>
        _findings.Add(new AuditFinding(kind, nodeId, item.Sequence, item.RecordId, (item.IsGap ? "archive gap: " : "") + detail));
}
