using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Identity;

/// <summary>A citizen's (or an official's) account. The verified identity is a <see cref="RealName.RealNameRecord"/>.</summary>
public class ApplicationUser : IdentityUser
{
    public string? DisplayName { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;

    /// <summary>Identity assurance level 1-4 reached (<see cref="AssuranceLevels"/>); the evidence is in VerificationEvidence.</summary>
    public int AssuranceLevel { get; set; } = AssuranceLevels.Minimum;
}
