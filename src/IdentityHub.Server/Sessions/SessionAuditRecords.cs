using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Sessions;

/// <summary>A person signed in: a new SSO session. After holds the device facts (no secret).</summary>
public sealed record SessionStarted(string SessionId, object After) : AuditRecord(SessionId, null, null, After)
{
    public override string EventType => "session.started";

    public override string TargetType => "session";
}

/// <summary>A session ended (logout, citizen, administrator, replaced); After names the apps that will be told.</summary>
public sealed record SessionEnded(string SessionId, object After) : AuditRecord(SessionId, null, null, After)
{
    public override string EventType => "session.ended";

    public override string TargetType => "session";
}

/// <summary>A department app acknowledged a back-channel logout notice, or the notice was abandoned after its last attempt.</summary>
public sealed record LogoutNotified(string SessionId, bool Delivered, object After) : AuditRecord(SessionId, null, null, After)
{
    public override string EventType => Delivered ? "session.logout_notified" : "session.logout_notice_abandoned";

    public override string TargetType => "session";
}
