using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

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
    PasswordHashGate gate,
    IHttpContextAccessor http)
    : UserManager<ApplicationUser>(store, optionsAccessor, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
{
    protected override Task<PasswordVerificationResult> VerifyPasswordAsync(IUserPasswordStore<ApplicationUser> store, ApplicationUser user, string password) =>
        // A request whose client has gone stops waiting for a slot (it never takes one): queued sign-ins of disconnected
        // clients must not spend hashes that real sign-ins wait for. Outside a request, Identity's own token.
        gate.RunAsync(() => base.VerifyPasswordAsync(store, user, password),
            http.HttpContext?.RequestAborted ?? CancellationToken);
}
