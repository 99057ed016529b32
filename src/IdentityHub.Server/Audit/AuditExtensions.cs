using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Audit;

public static class AuditExtensions
{
    public static IServiceCollection AddIdentityHubAudit(this IServiceCollection services)
    {
        services.AddScoped<IAuditLog, AuditLog>();
        services.AddScoped<AuditQueries>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }
}

public sealed class AuditEventConfiguration : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> audit)
    {
        audit.ToTable("AuditEvents");
        audit.HasKey(e => e.Id);
        audit.Property(e => e.Id).ValueGeneratedOnAdd();
        audit.Property(e => e.EventType).HasMaxLength(100);
        audit.Property(e => e.ActorKind).HasMaxLength(20);
        audit.Property(e => e.ActorId).HasMaxLength(450);
        audit.Property(e => e.ActorName).HasMaxLength(256);
        audit.Property(e => e.TargetType).HasMaxLength(50);
        audit.Property(e => e.TargetId).HasMaxLength(450);
        audit.Property(e => e.DepartmentCode).HasMaxLength(32);
        audit.HasIndex(e => e.OccurredAtUtc);
        audit.HasIndex(e => new { e.TargetType, e.TargetId });
        audit.HasIndex(e => e.DepartmentCode);
    }
}
