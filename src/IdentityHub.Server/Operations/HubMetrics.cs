using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IdentityHub.Server.Operations;

/// <summary>
/// IdentityHub's own metrics (meter "IdentityHub") and traces (activity source "IdentityHub"), exported through
/// OpenTelemetry (<see cref="TelemetryExtensions"/>). Tags carry client ids, grant types, endpoints, providers and
/// outcome codes only: never a person, an IP address or a token.
/// </summary>
public sealed class HubMetrics
{
    public const string MeterName = "IdentityHub";

    /// <summary>Spans of our own work (token requests, verification calls, key rotation) under the ASP.NET Core request span.</summary>
    public static readonly ActivitySource ActivitySource = new(MeterName);

    // The buckets OpenTelemetry's semantic conventions recommend for http.server.request.duration (seconds).
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    };

    private readonly Counter<long> _signIns;
    private readonly Counter<long> _tokensIssued;
    private readonly Counter<long> _protocolFailures;
    private readonly Counter<long> _fastPathTokens;
    private readonly Counter<long> _fastPathIntrospections;
    private readonly Counter<long> _fastPathUserInfo;
    private readonly Counter<long> _fastPathRefreshes;
    private readonly Counter<long> _directRefreshValidations;
    private readonly Counter<long> _fastPathCodes;
    private readonly Histogram<double> _protocolDuration;
    private readonly Counter<long> _verificationCalls;
    private readonly Histogram<double> _verificationDuration;
    private readonly Counter<long> _nativeHeapTrims;

    public HubMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _signIns = meter.CreateCounter<long>("identityhub.signins", "{sign-in}",
            "Sign-in attempts by outcome (success, failure) and reason of failure.");
        _tokensIssued = meter.CreateCounter<long>("identityhub.tokens.issued", "{response}",
            "Successful token endpoint responses by grant type and client.");
        _protocolFailures = meter.CreateCounter<long>("identityhub.protocol.failures", "{response}",
            "Refused protocol requests by endpoint, grant type, client and OAuth error code.");
        _fastPathTokens = meter.CreateCounter<long>("identityhub.tokens.fast_path", "{response}",
            "client_credentials token responses answered by the fast path (Oidc/Handlers/ClientCredentialsFastPath), by client; also counted in identityhub.tokens.issued.");
        _fastPathIntrospections = meter.CreateCounter<long>("identityhub.introspections.fast_path", "{response}",
            "introspection responses (active: true) answered by the fast path (Oidc/Handlers/IntrospectionFastPath), by calling client.");
        _fastPathUserInfo = meter.CreateCounter<long>("identityhub.userinfo.fast_path", "{response}",
            "userinfo responses (200) answered by the fast path (Oidc/Handlers/UserInfoFastPath), by client.");
        _fastPathRefreshes = meter.CreateCounter<long>("identityhub.refresh.fast_path", "{response}",
            "refresh_token grant responses (200) answered by the fast path (Oidc/Handlers/RefreshTokenFastPath), by client; also counted in identityhub.tokens.issued.");
        _directRefreshValidations = meter.CreateCounter<long>("identityhub.refresh.direct_validation", "{token}",
            "Refresh tokens the refresh fast path validated itself (Oidc:DirectRefreshTokenValidation) instead of through OpenIddict's dispatch, by client.");
        _fastPathCodes = meter.CreateCounter<long>("identityhub.code.fast_path", "{response}",
            "authorization_code grant responses (200) answered by the fast path (Oidc/Handlers/AuthorizationCodeFastPath), by client; also counted in identityhub.tokens.issued.");
        _protocolDuration = meter.CreateHistogram<double>("identityhub.protocol.duration", "s",
            "Duration of protocol requests (token, introspection, revocation, userinfo, authorize...) by endpoint, grant type and outcome.",
            advice: Seconds);
        _verificationCalls = meter.CreateCounter<long>("identityhub.verification.calls", "{call}",
            "Real-name verification calls to the authorities by provider, kind and outcome.");
        _verificationDuration = meter.CreateHistogram<double>("identityhub.verification.duration", "s",
            "Latency of real-name verification calls by provider and outcome.", advice: Seconds);
        _nativeHeapTrims = meter.CreateCounter<long>("identityhub.native_heap.trims", "{trim}",
            "malloc_trim(0) calls of Hosting/NativeHeapTrimmer, by whether the C library gave pages back (released).");
    }

    public void SignIn(string outcome, string? reason) =>
        _signIns.Add(1, new("outcome", outcome), new("reason", reason ?? "none"));

    public void ProtocolRequest(string endpoint, string? grantType, string? clientId, string? error, TimeSpan duration)
    {
        var outcome = error is null ? "success" : "failure";
        _protocolDuration.Record(duration.TotalSeconds,
            new("endpoint", endpoint), new("grant_type", grantType ?? "none"), new("outcome", outcome));
        if (error is not null)
        {
            // A client id that did not authenticate is whatever the caller typed: not a tag (unbounded series).
            var known = error is not ("invalid_client" or "invalid_request" or "server_error");
            _protocolFailures.Add(1, new("endpoint", endpoint), new("grant_type", grantType ?? "none"),
                new("client_id", known ? clientId ?? "none" : "unverified"), new("error", error));
        }
        else if (endpoint == "token")
        {
            _tokensIssued.Add(1, new("grant_type", grantType ?? "none"), new("client_id", clientId ?? "none"));
        }
    }

    public void FastPathIntrospection(string clientId) => _fastPathIntrospections.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void FastPathUserInfo(string clientId) => _fastPathUserInfo.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void DirectRefreshTokenValidation(string clientId) =>
        _directRefreshValidations.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void FastPathRefresh(string clientId) => _fastPathRefreshes.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void FastPathCode(string clientId) => _fastPathCodes.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void FastPathToken(string clientId) => _fastPathTokens.Add(1, new KeyValuePair<string, object?>("client_id", clientId));

    public void VerificationCall(string provider, string kind, string outcome, bool fromCache, TimeSpan latency)
    {
        _verificationCalls.Add(1, new("provider", provider), new("kind", kind), new("outcome", outcome), new("cached", fromCache));
        _verificationDuration.Record(latency.TotalSeconds, new("provider", provider), new("outcome", outcome));
    }

    public void NativeHeapTrim(bool released) => _nativeHeapTrims.Add(1, new KeyValuePair<string, object?>("released", released));
}
