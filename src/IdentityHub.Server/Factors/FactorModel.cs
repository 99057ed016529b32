using IdentityHub.Server.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Factors;

/// <summary>Maps the factor and account-security tables; called once from IdentityHubDbContext.OnModelCreating.</summary>
public static class FactorModel
{
    public static void ConfigureFactors(this ModelBuilder builder)
    {
        builder.Entity<TotpAuthenticator>(totp =>
        {
            totp.ToTable("TotpAuthenticators");
            totp.HasKey(t => t.UserId);
            totp.Property(t => t.ProtectedSecret).HasMaxLength(1000);
            totp.HasOne<ApplicationUser>().WithOne().HasForeignKey<TotpAuthenticator>(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<RecoveryCode>(code =>
        {
            code.ToTable("RecoveryCodes");
            code.HasKey(c => c.Id);
            code.Property(c => c.CodeHash).HasMaxLength(64);
            code.HasIndex(c => new { c.UserId, c.CodeHash }).IsUnique();
            code.HasOne<ApplicationUser>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<SmsCode>(sms =>
        {
            sms.ToTable("SmsCodes");
            sms.HasKey(s => s.Id);
            sms.Property(s => s.PhoneNumber).HasMaxLength(20);
            sms.Property(s => s.Purpose).HasConversion<string>().HasMaxLength(20);
            sms.Property(s => s.UserId).HasMaxLength(450);
            sms.Property(s => s.Salt).HasMaxLength(32);
            sms.Property(s => s.CodeHash).HasMaxLength(64);
            sms.HasIndex(s => new { s.PhoneNumber, s.CreatedAtUtc });
        });

        builder.Entity<SecurityMessage>(message =>
        {
            message.ToTable("SecurityMessages");
            message.HasKey(m => m.Id);
            message.Property(m => m.Kind).HasConversion<string>().HasMaxLength(30);
            message.Property(m => m.Detail).HasMaxLength(200);
            message.HasIndex(m => new { m.UserId, m.CreatedAtUtc });
            message.HasOne<ApplicationUser>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<KnownDevice>(device =>
        {
            device.ToTable("KnownDevices");
            device.HasKey(d => d.Id);
            device.Property(d => d.DeviceHash).HasMaxLength(64);
            device.HasIndex(d => new { d.UserId, d.DeviceHash }).IsUnique();
            device.HasOne<ApplicationUser>().WithMany().HasForeignKey(d => d.UserId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
