using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Data;

/// <summary>
/// The one EF Core context of the server: ASP.NET Core Identity, OpenIddict's stores and the registry.
/// Each database provider has its own derived context so that each keeps its own migrations
/// (Data/Migrations/Sqlite and Data/Migrations/Postgres); the rest of the code only sees this type.
/// </summary>
public class IdentityHubDbContext(DbContextOptions options) : IdentityDbContext<ApplicationUser>(options)
{
    public DbSet<Department> Departments => Set<Department>();

    public DbSet<ClientSecretEntry> ClientSecrets => Set<ClientSecretEntry>();

    public DbSet<PairwiseSubject> PairwiseSubjects => Set<PairwiseSubject>();

    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.AddInterceptors(new AppendOnlyAuditInterceptor(), new AuditChainInterceptor());

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.UseOpenIddict<HubApplication, HubAuthorization, HubScope, HubToken, string>();

        builder.Entity<ApplicationUser>(user =>
        {
            user.Property(u => u.DisplayName).HasMaxLength(100);
            // A mobile number identifies at most one account: it is a sign-in name.
            user.HasIndex(u => u.PhoneNumber).IsUnique();
        });

        builder.Entity<Department>(department =>
        {
            department.HasKey(d => d.Id);
            department.Property(d => d.Code).HasMaxLength(Department.CodeMaxLength).IsRequired();
            department.HasIndex(d => d.Code).IsUnique();
            department.Property(d => d.Name).HasMaxLength(200).IsRequired();
            department.Property(d => d.NameEn).HasMaxLength(200);
            department.Property(d => d.Status).HasConversion<string>().HasMaxLength(20);
        });

        builder.Entity<HubApplication>(application =>
        {
            application.HasOne(a => a.Department)
                .WithMany()
                .HasForeignKey(a => a.DepartmentId)
                .OnDelete(DeleteBehavior.Restrict);
        });

        // The registry's, the audit part's and the subject mapping's own configuration classes.
        builder.ApplyConfigurationsFromAssembly(typeof(IdentityHubDbContext).Assembly);
    }
}

public sealed class SqliteIdentityHubDbContext(DbContextOptions<SqliteIdentityHubDbContext> options)
    : IdentityHubDbContext(options);

public sealed class PostgresIdentityHubDbContext(DbContextOptions<PostgresIdentityHubDbContext> options)
    : IdentityHubDbContext(options);
