using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// OpenID Connect Front-Channel Logout 1.0: after a session ends in this browser, the signed-out page
/// (<see cref="Page"/>) loads each participating app's frontchannel_logout_uri in an iframe, with the
/// <c>iss</c> and <c>sid</c> query parameters (section 2), and then sends the browser on. The page's
/// parameter is a short-lived protected payload: nobody can make it render frames for another session.
/// </summary>
public sealed class FrontChannelLogout(IDataProtectionProvider protection, ISessionStore store)
{
    public const string Page = "/Account/SignedOut";

    private static readonly TimeSpan PayloadLifetime = TimeSpan.FromMinutes(5);

    private ITimeLimitedDataProtector Protector =>
        protection.CreateProtector("IdentityHub.Sessions.FrontChannelLogout").ToTimeLimitedDataProtector();

    /// <summary>The signed-out page for <paramref name="ended"/>, continuing to <paramref name="next"/>; null when no app registered a front-channel URI.</summary>
    public string? PageFor(EndedSession? ended, string next)
    {
        if (ended is null || !ended.Clients.Any(c => c.FrontChannelLogoutUri is not null))
        {
            return null;
        }

        var payload = JsonSerializer.Serialize(new Payload(ended.SessionId, next));
        return QueryHelpers.AddQueryString(Page, "n", Protector.Protect(payload, PayloadLifetime));
    }

    /// <summary>The frames to load and where to go afterwards; null for a missing, forged or expired parameter.</summary>
    public async Task<(IReadOnlyList<string> Frames, string Next)?> ReadAsync(string? protectedPayload, CancellationToken cancellationToken)
    {
        Payload? payload;
        try
        {
            payload = string.IsNullOrEmpty(protectedPayload) ? null : JsonSerializer.Deserialize<Payload>(Protector.Unprotect(protectedPayload));
        }
        catch (CryptographicException)
        {
            return null;
        }

        if (payload is null)
        {
            return null;
        }

        var clients = await store.ClientsAsync(payload.SessionId, cancellationToken);
        var frames = clients.Where(c => c.FrontChannelLogoutUri is not null)
            .Select(c => FrameUri(c.FrontChannelLogoutUri!, c.Issuer, payload.SessionId))
            .ToList();
        return (frames, payload.Next);
    }

    /// <summary>Section 2: iss and sid are added as query parameters, keeping any query the registered URI has.</summary>
    public static string FrameUri(string frontChannelLogoutUri, string issuer, string sessionId) =>
        QueryHelpers.AddQueryString(frontChannelLogoutUri, new Dictionary<string, string?> { ["iss"] = issuer, ["sid"] = sessionId });

    private sealed record Payload(string SessionId, string Next);
}
