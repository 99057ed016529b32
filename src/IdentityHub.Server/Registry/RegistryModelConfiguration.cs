using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Registry;

/// <summary>The registry's columns beyond OpenIddict's, and its secrets table.</summary>
public sealed class RegistryApplicationConfiguration : IEntityTypeConfiguration<HubApplication>
{
    public void Configure(EntityTypeBuilder<HubApplication> application)
    {
        application.Property(a => a.Kind).HasConversion<string>().HasMaxLength(20);
        application.Property(a => a.Status).HasConversion<string>().HasMaxLength(20);
        application.Property(a => a.SubjectType).HasConversion<string>().HasMaxLength(20);
        application.Property(a => a.BackChannelLogoutUri).HasMaxLength(2000);
        application.Property(a => a.FrontChannelLogoutUri).HasMaxLength(2000);
        application.HasIndex(a => new { a.DepartmentId, a.Status });
    }
}

public sealed class RegistryDepartmentConfiguration : IEntityTypeConfiguration<Department>
{
    public void Configure(EntityTypeBuilder<Department> department)
    {
        department.Property(d => d.Contact).HasMaxLength(200);
        department.Property(d => d.SectorId).HasMaxLength(64);
        department.Ignore(d => d.EffectiveSectorId);
    }
}

public sealed class ClientSecretConfiguration : IEntityTypeConfiguration<ClientSecretEntry>
{
    public void Configure(EntityTypeBuilder<ClientSecretEntry> secret)
    {
        secret.ToTable("ClientSecrets");
        secret.HasKey(s => s.Id);
        secret.Property(s => s.Id).HasMaxLength(32);
        secret.Property(s => s.Hash).HasMaxLength(200);
        secret.Property(s => s.Hint).HasMaxLength(8);
        secret.HasOne(s => s.Application).WithMany().HasForeignKey(s => s.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        secret.HasIndex(s => s.ApplicationId);
    }
}
