using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Identity.Enterprises;

public enum EnterpriseStatus
{
    /// <summary>The business registry confirmed code, name and legal representative.</summary>
    Verified,

    /// <summary>The code fails the GB 32100 checksum (early pilot codes do): a clerk must confirm it.</summary>
    PendingReview,
}

/// <summary>A business registered by its legal representative, who must be a verified citizen.</summary>
public sealed class Enterprise
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>Unified social credit code (GB 32100-2015).</summary>
    public required string CreditCode { get; set; }

    public required string Name { get; set; }

    public required string LegalRepresentativeUserId { get; set; }

    public EnterpriseStatus Status { get; set; }

    public string? Provider { get; set; }

    public string? TransactionId { get; set; }

    public DateTime RegisteredAtUtc { get; set; }

    public DateTime? VerifiedAtUtc { get; set; }
}

/// <summary>
/// The legal representative's authorisation for a verified citizen to act for the enterprise, until
/// <see cref="ExpiresAtUtc"/> or until revoked. Rows are never deleted: they are the record of who could act when.
/// </summary>
public sealed class AgentMandate
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");

    public required string EnterpriseId { get; set; }

    public Enterprise? Enterprise { get; set; }

    public required string AgentUserId { get; set; }

    public required string GrantedByUserId { get; set; }

    public DateTime GrantedAtUtc { get; set; }

    public DateTime ExpiresAtUtc { get; set; }

    public DateTime? RevokedAtUtc { get; set; }

    public string? RevokedByUserId { get; set; }

    public bool IsActive(DateTime nowUtc) => RevokedAtUtc is null && ExpiresAtUtc > nowUtc;
}

public sealed class EnterpriseConfiguration : IEntityTypeConfiguration<Enterprise>
{
    public void Configure(EntityTypeBuilder<Enterprise> enterprise)
    {
        enterprise.ToTable("Enterprises");
        enterprise.HasKey(e => e.Id);
        enterprise.Property(e => e.Id).HasMaxLength(32);
        enterprise.Property(e => e.CreditCode).HasMaxLength(18);
        enterprise.Property(e => e.Name).HasMaxLength(200);
        enterprise.Property(e => e.LegalRepresentativeUserId).HasMaxLength(450);
        enterprise.Property(e => e.Status).HasConversion<string>().HasMaxLength(20);
        enterprise.Property(e => e.Provider).HasMaxLength(50);
        enterprise.Property(e => e.TransactionId).HasMaxLength(100);
        enterprise.HasOne<ApplicationUser>().WithMany().HasForeignKey(e => e.LegalRepresentativeUserId).OnDelete(DeleteBehavior.Restrict);
        enterprise.HasIndex(e => e.CreditCode).IsUnique();
        enterprise.HasIndex(e => e.LegalRepresentativeUserId);
    }
}

public sealed class AgentMandateConfiguration : IEntityTypeConfiguration<AgentMandate>
{
    public void Configure(EntityTypeBuilder<AgentMandate> mandate)
    {
        mandate.ToTable("AgentMandates");
        mandate.HasKey(m => m.Id);
        mandate.Property(m => m.Id).HasMaxLength(32);
        mandate.Property(m => m.EnterpriseId).HasMaxLength(32);
        mandate.Property(m => m.AgentUserId).HasMaxLength(450);
        mandate.Property(m => m.GrantedByUserId).HasMaxLength(450);
        mandate.Property(m => m.RevokedByUserId).HasMaxLength(450);
        mandate.HasOne(m => m.Enterprise).WithMany().HasForeignKey(m => m.EnterpriseId).OnDelete(DeleteBehavior.Cascade);
        mandate.HasOne<ApplicationUser>().WithMany().HasForeignKey(m => m.AgentUserId).OnDelete(DeleteBehavior.Restrict);
        mandate.HasIndex(m => new { m.AgentUserId, m.EnterpriseId });
    }
}
