using IdentityHub.Server.Verification;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Identity.RealName;

/// <summary>
/// The verified legal identity of an account: at most one per account, and one account per ID number
/// (unique blind index). The ID number is stored encrypted (<see cref="PersonalData.PersonalDataProtector"/>),
/// looked up by its keyed hash and shown masked; it is decrypted only to release it under a client's policy.
/// </summary>
public sealed class RealNameRecord
{
    public const string IdNumberPurpose = "id_number";

    public required string UserId { get; set; }

    /// <summary>The legal name the authority confirmed.</summary>
    public required string Name { get; set; }

    public required string IdNumberCiphertext { get; set; }

    /// <summary>HMAC-SHA256 blind index of the normalised (18-character) number.</summary>
    public required string IdNumberIndex { get; set; }

    /// <summary>1101**********002X: what screens show.</summary>
    public required string IdNumberMasked { get; set; }

    public DateOnly BirthDate { get; set; }

    public Gender Gender { get; set; }

    public DateTime VerifiedAtUtc { get; set; }
}

/// <summary>
/// Why an account has its assurance level: one row per successful check (OpenID Identity Assurance
/// "evidence"): which check, which provider and its transaction id, when, and for an in-person check the clerk.
/// </summary>
public sealed class VerificationEvidence
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public int Level { get; set; }

    /// <summary><see cref="EvidenceChecks"/>.</summary>
    public required string Check { get; set; }

    public string? Provider { get; set; }

    public string? TransactionId { get; set; }

    public DateTime VerifiedAtUtc { get; set; }

    public string? ClerkUserId { get; set; }

    public string? ClerkName { get; set; }
}

public static class EvidenceChecks
{
    public const string PublicSecurityTwoElement = "public_security_two_element";
    public const string CarrierThreeElement = "carrier_three_element";
    public const string InPerson = "in_person";
}

public sealed class RealNameRecordConfiguration : IEntityTypeConfiguration<RealNameRecord>
{
    public void Configure(EntityTypeBuilder<RealNameRecord> record)
    {
        record.ToTable("RealNameRecords");
        record.HasKey(r => r.UserId);
        record.HasOne<ApplicationUser>().WithOne().HasForeignKey<RealNameRecord>(r => r.UserId).OnDelete(DeleteBehavior.Cascade);
        record.Property(r => r.UserId).HasMaxLength(450);
        record.Property(r => r.Name).HasMaxLength(100);
        record.Property(r => r.IdNumberCiphertext).HasMaxLength(200);
        record.Property(r => r.IdNumberIndex).HasMaxLength(64);
        record.Property(r => r.IdNumberMasked).HasMaxLength(18);
        record.Property(r => r.Gender).HasConversion<string>().HasMaxLength(10);
        // One account per verified ID number.
        record.HasIndex(r => r.IdNumberIndex).IsUnique();
    }
}

public sealed class VerificationEvidenceConfiguration : IEntityTypeConfiguration<VerificationEvidence>
{
    public void Configure(EntityTypeBuilder<VerificationEvidence> evidence)
    {
        evidence.ToTable("VerificationEvidence");
        evidence.HasKey(e => e.Id);
        evidence.Property(e => e.Id).ValueGeneratedOnAdd();
        evidence.HasOne<ApplicationUser>().WithMany().HasForeignKey(e => e.UserId).OnDelete(DeleteBehavior.Cascade);
        evidence.Property(e => e.UserId).HasMaxLength(450);
        evidence.Property(e => e.Check).HasMaxLength(50);
        evidence.Property(e => e.Provider).HasMaxLength(50);
        evidence.Property(e => e.TransactionId).HasMaxLength(100);
        evidence.Property(e => e.ClerkUserId).HasMaxLength(450);
        evidence.Property(e => e.ClerkName).HasMaxLength(256);
        evidence.HasIndex(e => e.UserId);
    }
}
