using IdentityHub.Server.Audit;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// token.issued and token.refreshed write their Data column themselves (TokensIssued.DataJson, on every token response's
/// path): the text must be what the audit log's serialiser writes for the record's Data, character for character, since
/// the row's hash covers it and readers parse it.
/// </summary>
public sealed class AuditRecordJsonTests
{
    public static TheoryData<TokensIssued> Records() =>
    [
        new(false, "svc-1", "d01", null, null, "client_credentials", ["access_token"], [], new Dictionary<string, string>()),
        new(false, "svc-2", null, null, null, "client_credentials", ["access_token"], ["phone", "email"], new Dictionary<string, string>()),
        new(true, "web", "d02", "u1", "sid-1", "refresh_token", ["access_token", "refresh_token", "id_token"], ["openid", "profile"],
            new Dictionary<string, string> { ["refresh_token"] = "rt-1", ["access_token"] = "at-1" }),
        // Quotes, backslashes, control characters, HTML-sensitive and non-ASCII text: the relaxed encoder's choices.
        new(false, "c\"l\\i<e>n&t'", "部门", null, null, "urn:ietf:params:oauth:grant-type:\u0001x", ["a\tb"], ["é", "\u2028", "😀"],
            new Dictionary<string, string> { ["k\"ey"] = "v\u0000al", ["中文"] = "值" }),
    ];

    [Theory]
    [MemberData(nameof(Records))]
    public void TokensIssued_DataJson_IsTheSerialisersText(TokensIssued record)
    {
        Assert.Equal(AuditLog.Serialize(record.Data), record.DataJson());
    }
}
