using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.PersonalData;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Verification;
using IdentityHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Verification;

public sealed class PersonalDataProtectorTests
{
    private static PersonalDataKey Key(string id) => new() { Id = id, Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };

    private static PersonalDataProtector Protector(string indexKey, params PersonalDataKey[] keys) =>
        new(Options.Create(new PersonalDataOptions { Keys = [.. keys], BlindIndexKey = indexKey }));

    private static readonly string IndexKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Protector_NewKeyAppended_NewWritesUseItAndOldValuesStillDecrypt()
    {
        var k1 = Key("k1");
        var before = Protector(IndexKey, k1);
        var old = before.Protect("11010519491231002X", "id_number|u1");
        Assert.Equal("k1", PersonalDataProtector.KeyIdOf(old));

        var rotated = Protector(IndexKey, k1, Key("k2"));
        var fresh = rotated.Protect("11010519491231002X", "id_number|u1");

        Assert.Equal("k2", PersonalDataProtector.KeyIdOf(fresh));
        Assert.Equal("11010519491231002X", rotated.Unprotect(old, "id_number|u1"));
        Assert.Equal("11010519491231002X", rotated.Unprotect(fresh, "id_number|u1"));
        Assert.DoesNotContain("1101", fresh[4..], StringComparison.Ordinal);
    }

    [Fact]
    public void Protector_SameValueTwice_DifferentCiphertexts()
    {
        var protector = Protector(IndexKey, Key("k1"));
        Assert.NotEqual(protector.Protect("11010519491231002X", "p"), protector.Protect("11010519491231002X", "p"));
    }

    [Fact]
    public void Protector_OtherRowOrTamperedOrRetiredKey_Refuses()
    {
        var k1 = Key("k1");
        var protector = Protector(IndexKey, k1);
        var value = protector.Protect("11010519491231002X", "id_number|u1");

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(value, "id_number|u2"));
        var tampered = value[..^2] + (value[^2] == 'A' ? "B" : "A") + value[^1];
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(tampered, "id_number|u1"));
        Assert.ThrowsAny<CryptographicException>(() => Protector(IndexKey, Key("k9")).Unprotect(value, "id_number|u1"));
    }

    [Fact]
    public void BlindIndex_SameNumber_SameIndexUnderOneKeyOnly()
    {
        var protector = Protector(IndexKey, Key("k1"));
        var other = Protector(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Key("k1"));

        Assert.Equal(protector.BlindIndex("11010519491231002X", "id_number"), Protector(IndexKey, Key("k2")).BlindIndex("11010519491231002X", "id_number"));
        Assert.NotEqual(protector.BlindIndex("11010519491231002X", "id_number"), other.BlindIndex("11010519491231002X", "id_number"));
        Assert.NotEqual(protector.BlindIndex("11010519491231002X", "id_number"), protector.BlindIndex("11010519491231002X", "other"));
        Assert.Equal(64, protector.BlindIndex("11010519491231002X", "id_number").Length);
    }
}

/// <summary>The stored identity on a real database: encrypted, indexed, masked; no plaintext ID number anywhere.</summary>
public abstract class StoredIdentityTests(string provider) : IAsyncLifetime
{
    private IdentityHubServer _server = null!;

    public async Task InitializeAsync() => _server = await IdentityHubServer.StartAsync(provider);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task BoundIdentity_Stored_NoTableHoldsThePlaintextIdNumber()
    {
        var idNumber = TestIdentities.NewIdNumber(male: false);
        var userId = await new AdminApiClient(_server).CreateUserAsync(UniqueNames.User(), UniqueNames.Password(), UniqueNames.Mobile());

        await using (var scope = _server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var realName = scope.ServiceProvider.GetRequiredService<RealNameService>();
            var user = (await users.FindByIdAsync(userId))!;
            var check = IdNumber.Validate(idNumber, DateOnly.FromDateTime(DateTime.UtcNow));
            var result = await realName.BindAsync(user, "测试人", check,
                new EvidenceInput(2, EvidenceChecks.PublicSecurityTwoElement, "public-security", "tx-1"), AuditActor.User(userId, null), CancellationToken.None);
            Assert.Equal(BindResult.Bound, result);

            var record = (await realName.FindAsync(userId, CancellationToken.None))!;
            Assert.Equal(idNumber[..4] + "**********" + idNumber[^4..], record.IdNumberMasked);
            Assert.Equal(idNumber, realName.RevealIdNumber(record));
            Assert.Equal(2, AssuranceLevels.Of((await users.FindByIdAsync(userId))!));
        }

        Assert.Empty(await DatabaseScan.ColumnsContainingAsync(_server, idNumber));
        // The birth date and sequence part alone would betray it too.
        Assert.Empty(await DatabaseScan.ColumnsContainingAsync(_server, idNumber[6..17]));
        if (provider == "Sqlite")
        {
            Assert.False(DatabaseScan.SqliteFilesContain(_server, idNumber), "The SQLite files hold the ID number.");
        }
    }

    [Fact]
    public async Task BoundIdentity_SecondAccountSameNumber_HeldByAnotherAccount()
    {
        var idNumber = TestIdentities.NewIdNumber();
        var admin = new AdminApiClient(_server);
        var first = await admin.CreateUserAsync(UniqueNames.User(), UniqueNames.Password(), UniqueNames.Mobile());
        var second = await admin.CreateUserAsync(UniqueNames.User(), UniqueNames.Password(), UniqueNames.Mobile());

        await using var scope = _server.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var realName = scope.ServiceProvider.GetRequiredService<RealNameService>();
        var check = IdNumber.Validate(idNumber, DateOnly.FromDateTime(DateTime.UtcNow));
        var evidence = new EvidenceInput(2, EvidenceChecks.PublicSecurityTwoElement, "public-security", "tx");
        Assert.Equal(BindResult.Bound, await realName.BindAsync((await users.FindByIdAsync(first))!, "甲", check, evidence,
            AuditActor.User(first, null), CancellationToken.None));
        Assert.Equal(BindResult.HeldByAnotherAccount, await realName.BindAsync((await users.FindByIdAsync(second))!, "甲", check, evidence,
            AuditActor.User(second, null), CancellationToken.None));
        Assert.Equal(1, AssuranceLevels.Of((await users.FindByIdAsync(second))!));
    }
}

public sealed class StoredIdentityTests_Sqlite() : StoredIdentityTests("Sqlite");

public sealed class StoredIdentityTests_Postgres() : StoredIdentityTests("Postgres");
