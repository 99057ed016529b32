namespace IdentityHub.Server.Identity.RealName;

/// <summary>An account with its verified identity (if any) and the evidence behind its level: what tokens are built from.</summary>
public sealed record Person(ApplicationUser User, RealNameRecord? RealName, IReadOnlyList<VerificationEvidence> Evidence)
{
    public int Level => AssuranceLevels.Of(User);

    /// <summary>When the current level was reached (the newest evidence at that level).</summary>
    public DateTime? VerifiedAtUtc => Evidence.Where(e => e.Level == Level).Select(e => (DateTime?)e.VerifiedAtUtc).Max();
}
