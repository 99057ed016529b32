using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

/// <summary>
/// Bounds the password hashes that run at once (<see cref="AccountOptions.PasswordHashConcurrency"/>, by default the
/// number of processors). A PBKDF2-HMAC-SHA512 verification at 210,000 iterations is ~100 ms of CPU on the thread that
/// runs it; with many sign-ins at once, unbounded hashing blocks as many thread-pool threads, the pool injects more
/// (each with its stack), and the cores switch between hashes that all finish later. Behind the gate the waiting
/// sign-ins hold no thread, the cores run at most one hash each, and the rest of every request (pages, tokens) still
/// finds a free thread. Every verification waits the same way, so the time of an unknown account's equal-time hash
/// (<see cref="PasswordTimingEqualizer"/>) and a real one stay alike.
/// </summary>
public sealed class PasswordHashGate
{
    private readonly SemaphoreSlim _slots;

    public PasswordHashGate(IOptions<AccountOptions> options)
    {
        Concurrency = options.Value.PasswordHashConcurrency > 0 ? options.Value.PasswordHashConcurrency : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(Concurrency, Concurrency);
    }

    /// <summary>Hashes allowed at once.</summary>
    public int Concurrency { get; }

    /// <summary>Runs <paramref name="hash"/> once a slot is free (waiting asynchronously), on the caller's thread.</summary>
    public async Task<T> RunAsync<T>(Func<T> hash, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return hash();
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Awaits <paramref name="hash"/> (an asynchronous verification that hashes) once a slot is free.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> hash, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await hash().ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }
}

/// <summary>
/// Identity's user manager with its password verification behind <see cref="PasswordHashGate"/>: every
/// <c>CheckPasswordAsync</c> (and so <c>SignInManager.CheckPasswordSignInAsync</c>) hashes inside the gate.
/// </summary>
public sealed class HubUserManager(
    IUserStore<ApplicationUser> store,
    IOptions<IdentityOptions> optionsAccessor,
    IPasswordHasher<ApplicationUser> passwordHasher,
    IEnumerable<IUserValidator<ApplicationUser>> userValidators,
    IEnumerable<IPasswordValidator<ApplicationUser>> passwordValidators,
    ILookupNormalizer keyNormalizer,
    IdentityErrorDescriber errors,
    IServiceProvider services,
    ILogger<UserManager<ApplicationUser>> logger,
    PasswordHashGate gate)
    : UserManager<ApplicationUser>(store, optionsAccessor, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
{
    protected override Task<PasswordVerificationResult> VerifyPasswordAsync(IUserPasswordStore<ApplicationUser> store, ApplicationUser user, string password) =>
        gate.RunAsync(() => base.VerifyPasswordAsync(store, user, password), CancellationToken);
}
