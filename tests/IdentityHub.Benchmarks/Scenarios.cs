namespace IdentityHub.Benchmarks;

public static class Scenarios
{
    public const string Discovery = "discovery";
    public const string Jwks = "jwks";
    public const string ClientCredentialsRs256 = "client-credentials-rs256";
    public const string ClientCredentialsEs256 = "client-credentials-es256";
    public const string Refresh = "refresh";
    public const string RefreshEs256 = "refresh-es256";
    public const string RefreshIdToken = "refresh-id-token";

    /// <summary>The refresh scenarios: the same load, each with its own client.</summary>
    public static bool IsRefresh(string name) => name is Refresh or RefreshEs256 or RefreshIdToken;
    public const string UserInfo = "userinfo";
    public const string Introspection = "introspection";
    public const string SignIn = "signin";

    /// <summary>What one operation of the scenario is, for the report.</summary>
    public static string Describe(string name) => name switch
    {
        Discovery => "GET /.well-known/openid-configuration",
        Jwks => "GET /.well-known/jwks",
        ClientCredentialsRs256 => "POST /connect/token client_credentials, RS256 access token",
        ClientCredentialsEs256 => "POST /connect/token client_credentials, ES256 access token (second server run)",
        Refresh => "POST /connect/token refresh_token, each token redeemed once (rotation); an RS256 access token, no ID token (the defaults: OpenID Connect Core 12.2, docs/architecture.md)",
        RefreshIdToken => "the same, by a client registered with idTokenOnRefresh: an RS256 ID token with each refresh too",
        RefreshEs256 => "the same, by a client registered for ES256 access and ID tokens (id_token_signed_response_alg) and idTokenOnRefresh",
        UserInfo => "GET /connect/userinfo with a user's access token",
        Introspection => "POST /connect/introspect of a user's access token",
        SignIn => "whole sign-in: authorize, sign-in page, form post, authorize (unless the form post answers it), code, token (4-5 requests, 1 password hash)",
        _ => AuditScenarios.Describe(name) ?? name,
    };

    /// <summary>The targets of issue 9 (2-core machine, PostgreSQL).</summary>
    public static (string Text, Func<ScenarioResult, LimitFigures, bool> Met)? Target(string name) => name switch
    {
        Discovery or Jwks => (">= 20,000/s", (r, _) => r.PerSecond >= 20_000),
        ClientCredentialsRs256 => (">= 55% of RS256 limit", (r, l) => r.PerSecond >= 0.55 * (r.Limit ?? l.Rs256Limit)),
        ClientCredentialsEs256 => (">= 6,000/s", (r, _) => r.PerSecond >= 6_000),
        Introspection => (">= 6,000/s", (r, _) => r.PerSecond >= 6_000),
        Refresh or RefreshEs256 => (">= 2,000/s", (r, _) => r.PerSecond >= 2_000),
        // Not the default (a client asks for it), so not one of issue 9's targets: shown for what it costs.
        RefreshIdToken => null,
        UserInfo => (">= 5,000/s", (r, _) => r.PerSecond >= 5_000),
        SignIn => (">= 85% of hash limit", (r, l) => r.PerSecond >= 0.85 * (r.Limit ?? l.PasswordHashLimit)),
        _ => AuditScenarios.Target(name),
    };

    /// <summary>The limit a scenario is compared with, if any.</summary>
    public static double? Limit(string name, LimitFigures limits) => name switch
    {
        ClientCredentialsRs256 => limits.Rs256Limit,
        ClientCredentialsEs256 => limits.Es256Limit,
        SignIn => limits.PasswordHashLimit,
        _ => null,
    };

    public const long PeakRssTargetBytes = 250L * 1024 * 1024;
}

/// <summary>One scenario's measured figures.</summary>
public sealed class ScenarioResult
{
    public string Database { get; set; } = "";

    public string Name { get; set; } = "";

    public string Generator { get; set; } = "";

    public long Operations { get; set; }

    public long HttpRequests { get; set; }

    public long Errors { get; set; }

    public List<string> ErrorSamples { get; set; } = [];

    public double Seconds { get; set; }

    public double PerSecond { get; set; }

    public double P50Ms { get; set; }

    public double P95Ms { get; set; }

    public double P99Ms { get; set; }

    public double MaxMs { get; set; }

    /// <summary>Server process CPU over the measured window, in % of one core (200% = both cores of a 2-core machine).</summary>
    public double ServerCpuPercent { get; set; }

    /// <summary>PostgreSQL (postmaster and backends) CPU over the window, when the tool started PostgreSQL.</summary>
    public double? DatabaseCpuPercent { get; set; }

    public double GeneratorCpuPercent { get; set; }

    /// <summary>
    /// CPU that everything else on the machine used during the window (machine busy time less server,
    /// PostgreSQL and generator): how much other work disturbed this scenario.
    /// </summary>
    public double OtherCpuPercent { get; set; }

    /// <summary>
    /// What the scenario would reach if the server, PostgreSQL and the generator had every core to themselves,
    /// at the CPU per operation measured here (operations/s = cores / CPU seconds per operation). CPU per
    /// operation grows under contention, so on a busy machine this still errs low.
    /// </summary>
    public double ProjectedPerSecond(int cores)
    {
        var percent = ServerCpuPercent + (DatabaseCpuPercent ?? 0) + GeneratorCpuPercent;
        return PerSecond > 0 && percent > 0 ? cores * PerSecond * 100 / percent : 0;
    }

    /// <summary>Server CPU milliseconds per operation over the window.</summary>
    public double ServerCpuMsPerOperation => PerSecond > 0 ? 10 * ServerCpuPercent / PerSecond : 0;

    /// <summary>
    /// Signin: the server's CPU seconds in password hashes over the window (its identityhub.password_hashes.cpu_time counter,
    /// the hashing threads' own CPU clocks), when the server exposes it; null otherwise.
    /// </summary>
    public double? HashCpuSeconds => Name == Scenarios.SignIn ? Counters?.HashCpuSeconds : null;

    /// <summary>Signin: password hashes the server completed over the window (the same histogram's count).</summary>
    public double? Hashes => Name == Scenarios.SignIn ? Counters?.Hashes : null;

    /// <summary>The server's own counters over the window (hash CPU, JIT, GC), when its Prometheus endpoint answered.</summary>
    public ServerCounters? Counters { get; set; }

    /// <summary>Signin: CPU milliseconds per password hash on the server (stable where the host's hashing rate drifts).</summary>
    public double? HashCpuMsPerHash => HashCpuSeconds is { } h && Hashes is > 0 ? 1000 * h / Hashes.Value : null;

    /// <summary>Signin: server CPU milliseconds per operation in password hashes (see <see cref="HashCpuSeconds"/>).</summary>
    public double? HashCpuMsPerOperation => HashCpuSeconds is { } h && PerSecond > 0 && ServerWindowSeconds > 0
        ? 1000 * h / (PerSecond * ServerWindowSeconds) : null;

    /// <summary>Server CPU milliseconds per operation besides password hashing: the part the host's hashing speed does not move.</summary>
    public double? ServerCpuMsBesidesHashing => HashCpuMsPerOperation is { } h ? ServerCpuMsPerOperation - h : null;

    /// <summary>Wall seconds of the measured window the CPU figures are taken over.</summary>
    public double ServerWindowSeconds { get; set; }

    /// <summary>Server VmHWM over this scenario (reset at its start where the kernel allows), bytes.</summary>
    public long PeakRssBytes { get; set; }

    /// <summary>
    /// The limit x cores the ratio uses: the mean of the limit measured again just before and just after this
    /// scenario (the host's speed drifts on a shared machine), or the run's first measurement.
    /// </summary>
    public double? Limit { get; set; }

    /// <summary>The limit x cores measured with the server idle just before the scenario.</summary>
    public double? LimitBefore { get; set; }

    /// <summary>The limit x cores measured with the server idle just after the scenario.</summary>
    public double? LimitAfter { get; set; }

    public double? LimitRatio => Limit is > 0 ? PerSecond / Limit : null;

    public string? Target { get; set; }

    public bool? TargetMet { get; set; }

    /// <summary>Lines the server logged (Warning and above) during the scenario.</summary>
    public int ServerLogLines { get; set; }

    public string? Failure { get; set; }
}
