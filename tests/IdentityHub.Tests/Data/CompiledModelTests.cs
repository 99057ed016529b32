using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The server runs on the compiled models in Data/CompiledModels (<c>dotnet ef dbcontext optimize</c>) and its
/// <c>Migrate</c> no longer compares the migrations' snapshot with the model built from <c>OnModelCreating</c>
/// (DataExtensions.UseCompiledModel): these tests do both comparisons instead. A model change without a migration
/// fails the first; a migration added without regenerating the compiled model fails the second (docs/architecture.md,
/// "Data": the commands).
/// </summary>
public sealed class CompiledModelTests
{
    public static TheoryData<string> Providers => ["Sqlite", "Postgres"];

    [Theory]
    [MemberData(nameof(Providers))]
    public void DesignTimeModel_MatchesTheLastMigrationsSnapshot(string provider)
    {
        using var context = CreateContext(provider);
        var designTime = context.GetService<IDesignTimeModel>().Model.GetRelationalModel();

        AssertNoDifferences(context, SnapshotModel(context), designTime, "the model built from OnModelCreating (add a migration)");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void CompiledModel_IsTheContextsModel_AndMatchesTheLastMigrationsSnapshot(string provider)
    {
        using var context = CreateContext(provider);
        var expectedType = provider == "Sqlite"
            ? typeof(IdentityHub.Server.Data.CompiledModels.Sqlite.SqliteIdentityHubDbContextModel)
            : typeof(IdentityHub.Server.Data.CompiledModels.Postgres.PostgresIdentityHubDbContextModel);
        Assert.IsType(expectedType, context.Model);

        AssertNoDifferences(context, SnapshotModel(context), context.Model.GetRelationalModel(),
            "the compiled model (regenerate it with dotnet ef dbcontext optimize)");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void SnapshotComparison_DetectsOneColumnThatDiffers(string provider)
    {
        // The comparison the tests above rely on is not blind: a fresh copy of the snapshot in which one column
        // (Departments.NameEn) is no longer nullable differs from the compiled model by exactly that column.
        using var context = CreateContext(provider);
        var snapshot = (ModelSnapshot)Activator.CreateInstance(context.GetService<IMigrationsAssembly>().ModelSnapshot!.GetType())!;
        var mutable = (IMutableModel)snapshot.Model;
        mutable.FindEntityType("IdentityHub.Server.Registry.Department")!.FindProperty("NameEn")!.IsNullable = false;
        var changed = context.GetService<IModelRuntimeInitializer>().Initialize((IModel)mutable).GetRelationalModel();

        var differences = context.GetService<IMigrationsModelDiffer>().GetDifferences(changed, context.Model.GetRelationalModel());

        Assert.Equal("AlterColumnOperation Departments.NameEn", Describe(Assert.Single(differences)));
    }

    private static IRelationalModel SnapshotModel(DbContext context)
    {
        var snapshot = context.GetService<IMigrationsAssembly>().ModelSnapshot;
        Assert.NotNull(snapshot);
        return context.GetService<IModelRuntimeInitializer>().Initialize(snapshot.Model).GetRelationalModel();
    }

    private static void AssertNoDifferences(DbContext context, IRelationalModel snapshot, IRelationalModel model, string what)
    {
        var differences = context.GetService<IMigrationsModelDiffer>().GetDifferences(snapshot, model);
        Assert.True(differences.Count == 0,
            $"The last migration's snapshot and {what} differ: " + string.Join("; ", differences.Select(Describe)));
    }

    private static string Describe(MigrationOperation operation) => operation switch
    {
        CreateTableOperation t => $"{operation.GetType().Name} {t.Name}",
        DropTableOperation t => $"{operation.GetType().Name} {t.Name}",
        ColumnOperation c => $"{operation.GetType().Name} {c.Table}.{c.Name}",
        DropColumnOperation c => $"{operation.GetType().Name} {c.Table}.{c.Name}",
        CreateIndexOperation i => $"{operation.GetType().Name} {i.Table}.{i.Name}",
        DropIndexOperation i => $"{operation.GetType().Name} {i.Table}.{i.Name}",
        _ => operation.GetType().Name,
    };

    private static DbContext CreateContext(string provider) => provider == "Sqlite"
        ? new SqliteDesignTimeFactory().CreateDbContext([])
        : new PostgresDesignTimeFactory().CreateDbContext([]);
}
