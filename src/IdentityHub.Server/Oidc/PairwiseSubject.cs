using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The reverse of a pairwise subject (OIDC Core section 8.1): which account a (sector, sub) pair stands
/// for. The sub itself is an HMAC and cannot be reversed; this row is written the first time the sub is
/// issued and read by userinfo, refresh and logout. It never leaves the server.
/// </summary>
public sealed class PairwiseSubject
{
    public required string SectorId { get; set; }

    public required string Subject { get; set; }

    public required string UserId { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;
}

public sealed class PairwiseSubjectConfiguration : IEntityTypeConfiguration<PairwiseSubject>
{
    public void Configure(EntityTypeBuilder<PairwiseSubject> subject)
    {
        subject.ToTable("PairwiseSubjects");
        subject.HasKey(s => new { s.SectorId, s.Subject });
        subject.Property(s => s.SectorId).HasMaxLength(64);
        subject.Property(s => s.Subject).HasMaxLength(64);
        subject.Property(s => s.UserId).HasMaxLength(450);
        subject.HasIndex(s => new { s.SectorId, s.UserId }).IsUnique();
    }
}
