using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Identity;

/// <summary>A citizen's (or an official's) account. Real-name data arrives with the verification issue.</summary>
public class ApplicationUser : IdentityUser
{
    public string? DisplayName { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;
}
