using System.Text.RegularExpressions;
using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Factors;

/// <summary>
/// A server whose password verification can be held for one account (<see cref="HashHold"/>): a sign-in then waits in
/// its hash, after the password form's read-ahead (AccountLookup.FindForPasswordSignInAsync), for as long as the test says.
/// </summary>
public sealed class HeldHashFixture : FactorsFixture
{
    public HashHold Hold { get; } = new();

    // The held sign-in keeps its slot in PasswordHashGate: the other sign-in needs another.
    protected override void Configure(Dictionary<string, string?> settings) => settings["Accounts:PasswordHashConcurrency"] = "4";

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddScoped<IPasswordHasher<ApplicationUser>>(sp =>
            new HeldHasher(new PasswordHasher<ApplicationUser>(sp.GetRequiredService<IOptions<PasswordHasherOptions>>()), Hold));

    private sealed class HeldHasher(PasswordHasher<ApplicationUser> inner, HashHold hold) : IPasswordHasher<ApplicationUser>
    {
        public string HashPassword(ApplicationUser user, string password) => inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(ApplicationUser user, string hashedPassword, string providedPassword)
        {
            hold.WaitIfHeld(user.UserName);
            return inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}

/// <summary>Holds the next password verification of one account until released.</summary>
public sealed class HashHold
{
    private string? _userName;

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void HoldNext(string userName) => _userName = userName;

    public void WaitIfHeld(string? userName)
    {
        // Compared by value, then taken by reference: only one verification is held.
        var held = Volatile.Read(ref _userName);
        if (held is not null && held == userName && ReferenceEquals(Interlocked.CompareExchange(ref _userName, null, held), held))
        {
            Entered.SetResult();
            // A bound so that a broken test fails instead of hanging; the test releases it long before.
            Released.Task.Wait(TimeSpan.FromMinutes(2));
        }
    }
}

/// <summary>
/// The new-device alert with the password form's read-ahead: "the account has no known device yet" is read before the
/// hash, which can wait; another browser's first sign-in during that wait must still make this one a new device of an
/// account that has signed in elsewhere (KnownDevices.SightAsync reads a "no" again just before its insert).
/// </summary>
public sealed class KnownDeviceReadAheadTests(HeldHashFixture fixture) : IClassFixture<HeldHashFixture>
{
    [Fact]
    public async Task FirstSignIns_SecondBrowserSignsInDuringTheFirstsHash_TheFirstIsANewDeviceAlert()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var first = new AccountClient(fixture.Server);
        using var second = new AccountClient(fixture.Server);
        fixture.Hold.HoldNext(userName);
        var held = first.SignInAsync(userName, FactorsFixture.Password);
        // Bounded so that a sign-in that never reaches the hash fails the test instead of hanging it.
        var reached = await Task.WhenAny(fixture.Hold.Entered.Task, held).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Same(fixture.Hold.Entered.Task, reached);

        // The account's first browser, while the other waits in its hash having read "no known device".
        await second.SignInAsync(userName, FactorsFixture.Password);
        Assert.DoesNotContain("NewDeviceSignIn", await second.MessageKindsAsync());

        fixture.Hold.Released.SetResult();
        await held;
        Assert.Single(await first.MessageKindsAsync(), "NewDeviceSignIn");
    }
}
