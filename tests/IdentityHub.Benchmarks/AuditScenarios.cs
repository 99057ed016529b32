namespace IdentityHub.Benchmarks;

/// <summary>
/// The audit trail's scenarios (issue 5), PostgreSQL only: <c>audit-ingest</c> measures the group-commit writer
/// itself (the server's audit-ingest-benchmark command, no HTTP) and, as a second row, <c>audit-ingest-http</c> through HTTP; <c>audit-queries</c> seeds <c>--audit-events</c> chained events by binary COPY and measures the
/// three reads of the issue, each a result row of its own (audit-history, audit-search, audit-statistics).
/// </summary>
public static class AuditScenarios
{
    public const string Ingest = "audit-ingest";
    public const string IngestHttp = "audit-ingest-http";
    public const string Queries = "audit-queries";

    public const string History = "audit-history";
    public const string Search = "audit-search";
    public const string Statistics = "audit-statistics";

    public static readonly string[] All = [Ingest, Queries];

    /// <summary>Concurrent readers of the query scenarios: a latency target, measured at a light load.</summary>
    public const int QueryConcurrency = 4;

    public static string? Describe(string name) => name switch
    {
        Ingest => "the server's audit-ingest-benchmark command: --audit-writers concurrent IAuditLog.WriteAsync calls, one event each, " +
                  "each waiting for its group commit (the AuditWriter loop, chain sealing, COPY, commit), no HTTP",
        IngestHttp => "POST /connect/token with an unsupported grant type for a registered client: OpenIddict refuses it before any " +
                  "client authentication, and the answer waits for its token.failed event's group commit (one event per request)",
        History => "GET /Account/History as a signed-in citizen (sign-ins, apps and released claims of a heavy user), rotating over the benchmark's citizens",
        Search => "GET /api/audit/events?department=&type=signin.failed&from=&to= (30 days, first page of 50) as an auditor, rotating over departments " +
                  "and windows; each answer also writes its audit.query event",
        Statistics => "GET /api/audit/statistics/sign-ins?from=&to= (30 days, every department, per department and day, failures by reason) as an auditor",
        _ => null,
    };

    public static (string Text, Func<ScenarioResult, LimitFigures, bool> Met)? Target(string name) => name switch
    {
        Ingest => (">= 5,000 events/s", (r, _) => r.PerSecond >= 5_000),
        History or Search => ("p95 < 50 ms", (r, _) => r.P95Ms < 50),
        Statistics => ("p95 < 1 s", (r, _) => r.P95Ms < 1_000),
        _ => null,
    };
}
