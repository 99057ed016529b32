using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace IdentityHub.Server.Sessions;

/// <summary>Why a session ended. Timeouts are not here: an expired session is simply no longer accepted.</summary>
public enum SessionEndReason
{
    /// <summary>Signed out at IdentityHub or at a department app (RP-initiated logout).</summary>
    Logout,

    /// <summary>Ended by the citizen from their account pages.</summary>
    Citizen,

    /// <summary>Ended by an administrator (all sessions of an account).</summary>
    Administrator,

    /// <summary>Another sign-in in the same browser replaced it.</summary>
    Replaced,
}

/// <summary>
/// One server-side SSO session: a browser in which a person signed in. Its id is the OIDC <c>sid</c>
/// (Front-Channel Logout 1.0 section 3, Back-Channel Logout 1.0 section 2.4), carried by the sign-in cookie
/// and by every ID token of the session.
/// </summary>
public sealed class SsoSession
{
    public required string Id { get; set; }

    public required string UserId { get; set; }

    /// <summary>auth_time: when the person last authenticated in this session.</summary>
    public DateTime AuthenticatedAtUtc { get; set; }

    /// <summary>amr values, space-separated ("pwd").</summary>
    public string Methods { get; set; } = "";

    public DateTime CreatedAtUtc { get; set; }

    public DateTime LastActivityAtUtc { get; set; }

    public string? UserAgent { get; set; }

    public string? IpAddress { get; set; }

    public DateTime? EndedAtUtc { get; set; }

    public SessionEndReason? EndReason { get; set; }

    public List<SessionParticipant> Participants { get; set; } = [];
}

/// <summary>
/// A department app that received a code in a session: which client, the <c>sub</c> it saw (pairwise per
/// department), the issuer it saw, and the ad-hoc OpenIddict authorization its tokens hang from (so that
/// ending the session revokes exactly this session's refresh tokens).
/// </summary>
public sealed class SessionParticipant
{
    public required string SessionId { get; set; }

    public required string AuthorizationId { get; set; }

    public required string ClientId { get; set; }

    public required string Subject { get; set; }

    public required string Issuer { get; set; }

    public DateTime CreatedAtUtc { get; set; }
}

/// <summary>
/// The durable queue of back-channel logout notices: one row per (ended session, client with a back-channel
/// URI). <see cref="DueAtUtc"/> is null once the notice is delivered or abandoned, so the pending ones are one
/// index range.
/// </summary>
public sealed class LogoutNotice
{
    public long Id { get; set; }

    public required string SessionId { get; set; }

    public required string ClientId { get; set; }

    public required string Subject { get; set; }

    public required string Issuer { get; set; }

    public required string Uri { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime? DueAtUtc { get; set; }

    public int Attempts { get; set; }

    public DateTime? DeliveredAtUtc { get; set; }

    public DateTime? AbandonedAtUtc { get; set; }

    public string? LastError { get; set; }
}

public sealed class SsoSessionConfiguration : IEntityTypeConfiguration<SsoSession>
{
    public void Configure(EntityTypeBuilder<SsoSession> session)
    {
        session.ToTable("SsoSessions");
        session.HasKey(s => s.Id);
        session.Property(s => s.Id).HasMaxLength(64);
        session.Property(s => s.UserId).HasMaxLength(450);
        session.Property(s => s.Methods).HasMaxLength(200);
        session.Property(s => s.UserAgent).HasMaxLength(512);
        session.Property(s => s.IpAddress).HasMaxLength(64);
        session.Property(s => s.EndReason).HasConversion<string>().HasMaxLength(20);
        session.HasIndex(s => new { s.UserId, s.EndedAtUtc });
        session.HasMany(s => s.Participants).WithOne().HasForeignKey(p => p.SessionId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed class SessionParticipantConfiguration : IEntityTypeConfiguration<SessionParticipant>
{
    public void Configure(EntityTypeBuilder<SessionParticipant> participant)
    {
        participant.ToTable("SsoSessionParticipants");
        participant.HasKey(p => new { p.SessionId, p.AuthorizationId });
        participant.Property(p => p.AuthorizationId).HasMaxLength(100);
        participant.Property(p => p.ClientId).HasMaxLength(100);
        participant.Property(p => p.Subject).HasMaxLength(450);
        participant.Property(p => p.Issuer).HasMaxLength(400);
    }
}

public sealed class LogoutNoticeConfiguration : IEntityTypeConfiguration<LogoutNotice>
{
    public void Configure(EntityTypeBuilder<LogoutNotice> notice)
    {
        notice.ToTable("LogoutNotices");
        notice.HasKey(n => n.Id);
        notice.Property(n => n.Id).ValueGeneratedOnAdd();
        notice.Property(n => n.SessionId).HasMaxLength(64);
        notice.Property(n => n.ClientId).HasMaxLength(100);
        notice.Property(n => n.Subject).HasMaxLength(450);
        notice.Property(n => n.Issuer).HasMaxLength(400);
        notice.Property(n => n.Uri).HasMaxLength(2000);
        notice.Property(n => n.LastError).HasMaxLength(500);
        notice.HasIndex(n => n.DueAtUtc);
        notice.HasIndex(n => n.SessionId);
    }
}
