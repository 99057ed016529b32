using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace IdentityHub.Server.Data;

/// <summary>
/// The one EF Core context of the server: ASP.NET Core Identity, OpenIddict's stores and the registry.
/// Each database provider has its own derived context so that each keeps its own migrations
/// (Data/Migrations/Sqlite and Data/Migrations/Postgres); the rest of the code only sees this type.
/// </summary>
public class IdentityHubDbContext(DbContextOptions options) : IdentityDbContext<ApplicationUser>(options), IDataProtectionKeyContext
{
    /// <summary>The Data Protection key ring in shared mode (Redis configured): every node reads the same keys.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<Department> Departments => Set<Department>();

    public DbSet<ClientSecretEntry> ClientSecrets => Set<ClientSecretEntry>();

    public DbSet<PairwiseSubject> PairwiseSubjects => Set<PairwiseSubject>();

    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();

    public DbSet<Oidc.Revocation.AccessTokenRevocation> AccessTokenRevocations => Set<Oidc.Revocation.AccessTokenRevocation>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder)
    {
        // The server registers the interceptor with its (pooled) options, where OnConfiguring must not change
        // them (DataExtensions); contexts built elsewhere (design time, tools) get it here.
        var core = optionsBuilder.Options.FindExtension<CoreOptionsExtension>();
        if (core?.Interceptors?.OfType<AppendOnlyAuditInterceptor>().Any() != true)
        {
            optionsBuilder.AddInterceptors(new AppendOnlyAuditInterceptor(), new AuditChainInterceptor());
        }
    }

    /// <summary><see cref="DatabaseOptions.DetectChangesOncePerSave"/>, read once per (pooled) context instance.</summary>
    private bool? _detectChangesOnce;

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        if (!DetectChangesOnce())
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }

        try
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = true;
        }
    }

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (!DetectChangesOnce())
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }

        try
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = true;
        }
    }

    /// <summary>
    /// With <see cref="DatabaseOptions.DetectChangesOncePerSave"/> and automatic detection on: detects the changes once,
    /// then turns automatic detection off for the rest of this save (its interceptors list the tracked entries, EF Core
    /// saves them), to be turned back on when the save ends, however it ends. Nothing changes a tracked entity's
    /// property within a save without telling the change tracker: the interceptors only read the entries, add or detach
    /// them, and set the chain's columns of audit rows being added (<see cref="AuditChainInterceptor"/>), whose values
    /// an insert takes as they are. A save made while detection is off (the caller's choice, as
    /// <see cref="AuditBatchInsert"/>, or one nested in another save's interceptors) is left as it is.
    /// </summary>
    private bool DetectChangesOnce()
    {
        _detectChangesOnce ??= this.GetService<IDbContextOptions>()
            .FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider?
            .GetService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>()?.Value.DetectChangesOncePerSave ?? false;
        if (_detectChangesOnce != true || !ChangeTracker.AutoDetectChangesEnabled)
        {
            return false;
        }

        ChangeTracker.DetectChanges();
        ChangeTracker.AutoDetectChangesEnabled = false;
        return true;
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.UseOpenIddict<HubApplication, HubAuthorization, HubScope, HubToken, string>();
        builder.Entity<HubToken>(ConfigureTokenIndexes);
        builder.ConfigureFactors();

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

    /// <summary>
    /// OpenIddict's token table without "Status" in its composite index: OpenIddict indexes (ApplicationId, Status, Subject,
    /// Type); this server indexes (ApplicationId, Subject, Type). A status change (every refresh redeems the presented
    /// token's entry; revocation) then touches no indexed column, which on PostgreSQL makes it a HOT update (the new row
    /// version on the same page, no new entry in the four indexes; with the room <see cref="PostgresIdentityHubDbContext.TokenFillFactor"/>
    /// leaves) and on SQLite spares rewriting that index's entry. What the index served it still serves: OpenIddict's store
    /// looks tokens up by application (FindByApplicationIdAsync, RevokeByApplicationIdAsync: the leading column, also the
    /// foreign key's index), by application and subject with status and type (FindAsync, RevokeAsync: the leading
    /// columns, the status then filtered among the subject's entries of that type); by id, reference id and authorization
    /// through their own indexes, and pruning by dates as before.
    /// </summary>
    internal static void ConfigureTokenIndexes(Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<HubToken> token)
    {
        var withStatus = token.Metadata.GetIndexes().Single(index =>
            index.Properties.Select(p => p.Name).SequenceEqual(["ApplicationId", nameof(HubToken.Status), nameof(HubToken.Subject), nameof(HubToken.Type)]));
        token.Metadata.RemoveIndex(withStatus);
        // ApplicationId is the shadow foreign key of OpenIddict's Application navigation.
        token.HasIndex("ApplicationId", nameof(HubToken.Subject), nameof(HubToken.Type));
        // OpenIddict's unique index on ReferenceId, partial: only the entries that have one (authorization codes and other
        // reference tokens). A refresh token's entry has none, so each rotation inserts into three indexes, not four
        // (issue 9, eleventh session). Uniqueness is the same: neither provider treats two NULLs as equal in a unique
        // index, and every non-null reference id is still in it, so the insert of a duplicate is refused as before
        // (HubTokenManager relies on it: OidcOptions.ReferenceIdUniqueByIndex). A lookup by reference id
        // ("ReferenceId" = @id, which implies IS NOT NULL) still uses it; a null test can no longer be answered through it.
        token.HasIndex(t => t.ReferenceId).IsUnique().HasFilter("\"ReferenceId\" IS NOT NULL");
    }
}

/// <remarks>
/// SQLite lets one connection write at a time. The writes of this process queue asynchronously for the database
/// instead of colliding (<see cref="SqliteWriteGateInterceptor"/>: a transaction from its BEGIN to its end, a write
/// statement outside a transaction, as a SaveChanges of one command is). SQLite sees one writer at a time and no
/// thread sleeps; the gate is held only while the database works, not while EF Core prepares a save.
/// </remarks>
public sealed class SqliteIdentityHubDbContext : IdentityHubDbContext
{
    public SqliteIdentityHubDbContext(DbContextOptions<SqliteIdentityHubDbContext> options)
        : base(options) => WriteGate = new SqliteContextWriteGate(this);

    /// <summary>What this context holds of its database's write gate.</summary>
    public SqliteContextWriteGate WriteGate { get; }

    public override void Dispose()
    {
        // Disposed (or returned to the pool) in the middle of a write: its transaction is rolled back with it.
        WriteGate.ReleaseAll();
        base.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        WriteGate.ReleaseAll();
        return base.DisposeAsync();
    }
}

public sealed class PostgresIdentityHubDbContext(DbContextOptions<PostgresIdentityHubDbContext> options)
    : IdentityHubDbContext(options)
{
    /// <summary>
    /// Free room in every heap page of "OpenIddictTokens" for the new version of a row whose status changes (a refresh
    /// token redeemed, a token revoked), so that PostgreSQL can keep it on the same page as a HOT update: no new entry in
    /// any of the table's indexes (none of them holds the status any more, <see cref="IdentityHubDbContext.ConfigureTokenIndexes"/>).
    /// Pages filled to 70% by inserts; pruning the old versions of a page's HOT chains gives their room back.
    /// </summary>
    public const int TokenFillFactor = 70;

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<HubToken>().HasStorageParameter("fillfactor", TokenFillFactor);
    }
}
