using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using IdentityHub.Server.Oidc;
using OpenIddict.Server;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// Signs logout tokens (OpenID Connect Back-Channel Logout 1.0 section 2.4) with the key that signs the client's ID tokens
/// (of the algorithm it registered, else the server's default: <see cref="TokenSigning"/>): OpenIddict's current signing
/// credentials, read per token so that a key rotation applies at once and the token always validates against the
/// published JWKS.
/// </summary>
public sealed class LogoutTokenFactory(IOptionsMonitor<OpenIddictServerOptions> server, IOptions<OidcOptions> oidc,
    IOptions<SessionOptions> options, TimeProvider clock)
{
    public const string TokenType = "logout+jwt";

    public const string BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The logout token; null when the client registered an ID token algorithm the server has no key for.</summary>
    public string? Create(string issuer, string clientId, string subject, string sessionId, string? idTokenAlgorithm)
    {
        // The same choice ProtectServerOnlyTokens makes for the client's ID tokens.
        if (TokenSigning.For(server.CurrentValue, oidc.Value.SigningAlgorithm, idTokenAlgorithm) is not { } credentials)
        {
            return null;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            // Section 2.4: typ "logout+jwt" keeps a logout token from being mistaken for an ID token.
            TokenType = TokenType,
            Issuer = issuer,
            Audience = clientId,
            IssuedAt = now,
            Expires = now + options.Value.BackChannel.TokenLifetime,
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(),
                // The sub the client saw (pairwise per department) and the session's sid; never a nonce (section 2.4).
                [JwtRegisteredClaimNames.Sub] = subject,
                ["sid"] = sessionId,
                ["events"] = new Dictionary<string, object> { [BackChannelLogoutEvent] = new Dictionary<string, object>() },
            },
        });
    }
}

/// <summary>Wakes the back-channel sender when a session ends, so that a notice leaves at once rather than at the next poll.</summary>
public sealed class LogoutNoticeSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public void Notify() => _channel.Writer.TryWrite(true);

    /// <summary>Waits until notified or until <paramref name="timeout"/> has passed.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        wait.CancelAfter(timeout);
        try
        {
            await _channel.Reader.WaitToReadAsync(wait.Token);
            _channel.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }
}
