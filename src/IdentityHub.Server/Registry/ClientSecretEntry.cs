namespace IdentityHub.Server.Registry;

/// <summary>
/// One client secret of a confidential client. Several may be active at once (rotation: the new one works
/// at once, the old one until it is revoked or expires). Only a salted SHA-256 is stored
/// (<see cref="HubApplicationManager"/>); the secret itself is shown once, when it is created.
/// </summary>
public sealed class ClientSecretEntry
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");

    public required string ApplicationId { get; set; }

    public HubApplication? Application { get; set; }

    /// <summary>"sha256$salt$hash", see <see cref="SecretHasher"/>.</summary>
    public required string Hash { get; set; }

    /// <summary>The last four characters, so that an administrator can tell secrets apart.</summary>
    public required string Hint { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;

    public DateTime? ExpiresAtUtc { get; set; }

    public DateTime? RevokedAtUtc { get; set; }

    public bool IsActive(DateTime nowUtc) => RevokedAtUtc is null && (ExpiresAtUtc is null || ExpiresAtUtc > nowUtc);
}
