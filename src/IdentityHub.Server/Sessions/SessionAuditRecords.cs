using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Sessions;

// Session events carry the person (SubjectId) and the session (SessionId = the target) like the other identity
// events, so that they belong to that person's history and are found by the auditor's person filter; a notice to a
// department app also names the app (ClientId) and its department.

/// <summary>A person signed in: a new SSO session. After holds the device facts (no secret).</summary>
public sealed record SessionStarted(string SessionId, string UserId, object After) : AuditRecord(SessionId, null, null, After)
{
    public override string EventType => "session.started";

    public override string TargetType => "session";

    public override string? SubjectId => UserId;

    public override string? SessionId => TargetId;
}

/// <summary>A session ended (logout, citizen, administrator, replaced); After names the apps that will be told.</summary>
public sealed record SessionEnded(string SessionId, string UserId, object After) : AuditRecord(SessionId, null, null, After)
{
    public override string EventType => "session.ended";

    public override string TargetType => "session";

    public override string? SubjectId => UserId;

    public override string? SessionId => TargetId;
}

/// <summary>A department app acknowledged a back-channel logout notice, or the notice was abandoned after its last attempt.</summary>
public sealed record LogoutNotified(string SessionId, string? UserId, string Client, string? Department, bool Delivered, object After)
    : AuditRecord(SessionId, Department, null, After)
{
    public override string EventType => Delivered ? "session.logout_notified" : "session.logout_notice_abandoned";

    public override string TargetType => "session";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override string? SessionId => TargetId;
}
