using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Oidc.Revocation;

/// <summary>
/// What the access tokens look like that no longer count. Access tokens have no token entry in the database
/// (RFC 9068 JWTs, <see cref="Handlers.SkipAccessTokenEntries"/>), so their revocation is written here instead:
/// <list type="bullet">
/// <item><c>jti</c>: one access token revoked at the revocation endpoint (RFC 7009), until it expires;</item>
/// <item><c>authorization</c>, <c>session</c>, <c>client</c>: every access token that carries this authorization id
/// (<c>oi_au_id</c>), session id (<c>sid</c>) or client (<c>client_id</c>) and was issued up to <see cref="RevokedAtUtc"/>
/// (refresh-token reuse, an ended session or a locked account, a disabled client or suspended department), until the
/// last of them has expired.</item>
/// </list>
/// The table holds a few minutes of rows (<see cref="ExpiresAtUtc"/>, then pruned); every node keeps all of them in
/// memory (<see cref="RevokedAccessTokens"/>), so validating an access token reads no database.
/// </summary>
public sealed class AccessTokenRevocation
{
    public const int KeyMaxLength = 200;

    public long Id { get; set; }

    public string Kind { get; set; } = "";

    public string Key { get; set; } = "";

    public DateTime RevokedAtUtc { get; set; }

    public DateTime ExpiresAtUtc { get; set; }
}

public static class RevocationKinds
{
    public const string TokenId = "jti";
    public const string Authorization = "authorization";
    public const string Session = "session";
    public const string Client = "client";
}

public sealed class AccessTokenRevocationConfiguration : IEntityTypeConfiguration<AccessTokenRevocation>
{
    public void Configure(EntityTypeBuilder<AccessTokenRevocation> revocation)
    {
        revocation.ToTable("AccessTokenRevocations");
        revocation.HasKey(r => r.Id);
        revocation.Property(r => r.Id).ValueGeneratedOnAdd();
        revocation.Property(r => r.Kind).HasMaxLength(16).IsRequired();
        revocation.Property(r => r.Key).HasMaxLength(AccessTokenRevocation.KeyMaxLength).IsRequired();
        revocation.HasIndex(r => r.RevokedAtUtc);
        revocation.HasIndex(r => r.ExpiresAtUtc);
    }
}
