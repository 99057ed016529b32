using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Audit;

/// <summary>
/// The AuditEvents table and its indexes, each for a query that must stay fast at tens of millions of rows:
/// (SubjectId, OccurredAtUtc, Id) a person's history (citizen page, auditor's person filter);
/// (ActorId, OccurredAtUtc) what an administrator or auditor did; (DepartmentCode, EventType, OccurredAtUtc, Id)
/// the auditor's department + type + time filter, whose first page is a backward range scan that stops after the
/// page (the Id makes the index order the keyset order, so no sort); (ClientId, OccurredAtUtc) per-app history;
/// (Category, OccurredAtUtc) retention and class filters, on PostgreSQL covering DepartmentCode, Outcome and Reason
/// (INCLUDE) so that the sign-in statistics are an index-only scan of the range (no table row read);
/// (OccurredAtUtc, Id) the unfiltered keyset pages; (NodeId, Sequence) unique: the chain order, read by
/// verification. IP filters run within a time range. Figures at 10 million rows: README, "Audit history".
/// Where a query names a column only with = or only with a fixed condition, the index holds only the rows that
/// can match (partial: SubjectId, ActorId of people, DepartmentCode, ClientId, TargetType/TargetId of registry rows).
/// </summary>
public sealed class AuditEventConfiguration : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> audit)
    {
        audit.ToTable("AuditEvents");
        audit.HasKey(e => e.Id);
        audit.Property(e => e.Id).ValueGeneratedOnAdd();
        audit.Property(e => e.Category).HasMaxLength(AuditColumns.Category);
        audit.Property(e => e.EventType).HasMaxLength(AuditColumns.EventType);
        audit.Property(e => e.Outcome).HasMaxLength(AuditColumns.Outcome);
        audit.Property(e => e.Reason).HasMaxLength(AuditColumns.Reason);
        audit.Property(e => e.ActorKind).HasMaxLength(AuditColumns.ActorKind);
        audit.Property(e => e.ActorId).HasMaxLength(AuditColumns.ActorId);
        audit.Property(e => e.ActorName).HasMaxLength(AuditColumns.ActorName);
        audit.Property(e => e.SubjectId).HasMaxLength(AuditColumns.SubjectId);
        audit.Property(e => e.EnterpriseId).HasMaxLength(AuditColumns.EnterpriseId);
        audit.Property(e => e.ClientId).HasMaxLength(AuditColumns.ClientId);
        audit.Property(e => e.TargetType).HasMaxLength(AuditColumns.TargetType);
        audit.Property(e => e.TargetId).HasMaxLength(AuditColumns.TargetId);
        audit.Property(e => e.DepartmentCode).HasMaxLength(AuditColumns.DepartmentCode);
        audit.Property(e => e.IpAddress).HasMaxLength(AuditColumns.IpAddress);
        audit.Property(e => e.UserAgent).HasMaxLength(AuditColumns.UserAgent);
        audit.Property(e => e.SessionId).HasMaxLength(AuditColumns.SessionId);
        audit.Property(e => e.CorrelationId).HasMaxLength(AuditColumns.CorrelationId);
        audit.Property(e => e.NodeId).HasMaxLength(AuditColumns.NodeId);
        audit.Property(e => e.PreviousHash).HasMaxLength(AuditColumns.Hash);
        audit.Property(e => e.Hash).HasMaxLength(AuditColumns.Hash);

        // Partial indexes (PostgreSQL and SQLite alike; the filters are SQL both read): a row goes only into the
        // indexes of the queries that can ask for it. Every read of such an index compares the column with = (which
        // implies IS NOT NULL) or states the filter's condition itself (ActorKind = 'user', Category = 'registry'),
        // so the planners pick them as before. The rows written on every token and userinfo answer (token.issued,
        // claims.released: actor a client, no registry target) skip three to four of them (docs/benchmarks.md).
        audit.HasIndex(e => new { e.OccurredAtUtc, e.Id });
        audit.HasIndex(e => new { e.SubjectId, e.OccurredAtUtc, e.Id }).HasFilter("\"SubjectId\" IS NOT NULL");
        // Only people are looked up by ActorId (AuditQueries.Apply: ActorKind = 'user' AND ActorId IN (...)).
        audit.HasIndex(e => new { e.ActorId, e.OccurredAtUtc }).HasFilter("\"ActorKind\" = 'user'");
        audit.HasIndex(e => new { e.DepartmentCode, e.EventType, e.OccurredAtUtc, e.Id }).HasFilter("\"DepartmentCode\" IS NOT NULL");
        audit.HasIndex(e => new { e.ClientId, e.OccurredAtUtc }).HasFilter("\"ClientId\" IS NOT NULL");
        // INCLUDE is PostgreSQL's (the annotation is ignored by SQLite).
        audit.HasIndex(e => new { e.Category, e.OccurredAtUtc }).IncludeProperties(e => new { e.DepartmentCode, e.Outcome, e.Reason });
        audit.HasIndex(e => new { e.NodeId, e.Sequence }).IsUnique();
        // The registry's per-target history (AuditQueries.ListAsync: Category = 'registry' AND TargetType/TargetId).
        audit.HasIndex(e => new { e.TargetType, e.TargetId }).HasFilter("\"Category\" = 'registry'");
    }
}

public sealed class AuditChainHeadConfiguration : IEntityTypeConfiguration<AuditChainHead>
{
    public void Configure(EntityTypeBuilder<AuditChainHead> head)
    {
        head.ToTable("AuditChainHeads");
        head.HasKey(h => h.NodeId);
        head.Property(h => h.NodeId).HasMaxLength(64);
        head.Property(h => h.LastHash).HasMaxLength(64);
    }
}

public sealed class AuditArchiveGapConfiguration : IEntityTypeConfiguration<AuditArchiveGap>
{
    public void Configure(EntityTypeBuilder<AuditArchiveGap> gap)
    {
        gap.ToTable("AuditArchiveGaps");
        gap.HasKey(g => g.Id);
        gap.Property(g => g.Id).ValueGeneratedOnAdd();
        gap.Property(g => g.ArchiveId).HasMaxLength(64);
        gap.Property(g => g.NodeId).HasMaxLength(64);
        gap.Property(g => g.PreviousHash).HasMaxLength(64);
        gap.Property(g => g.LastHash).HasMaxLength(64);
        gap.HasIndex(g => new { g.NodeId, g.FirstSequence });
        gap.HasIndex(g => g.ArchiveId);
    }
}
