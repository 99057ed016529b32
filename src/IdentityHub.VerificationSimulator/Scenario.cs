namespace IdentityHub.VerificationSimulator;

/// <summary>
/// Keyword-driven outcomes, as Login.gov's mock vendors do: a keyword anywhere in the name (a person's
/// name, an enterprise name or a legal representative), English or Chinese, makes the authority misbehave
/// that way, so that every path of an adapter can be exercised without real personal data.
/// </summary>
public enum Scenario
{
    Normal,

    /// <summary>"Timeout" / "超时": no answer until the caller gives up.</summary>
    Timeout,

    /// <summary>"Fail" / "故障": 503 Service Unavailable.</summary>
    Fail,

    /// <summary>"Limit" / "限流": 429 Too Many Requests.</summary>
    RateLimit,

    /// <summary>"Flaky" / "抖动": 503 on the first call with an idempotency key, a match on the next.</summary>
    Flaky,

    /// <summary>"Unsupported" / "不支持": the authority does not serve this record.</summary>
    Unsupported,

    /// <summary>"Invalid" / "无效": 400, the authority refuses the input.</summary>
    Invalid,
}

public static class Scenarios
{
    private static readonly (string English, string Chinese, Scenario Scenario)[] Keywords =
    [
        ("Timeout", "超时", Scenario.Timeout),
        ("Fail", "故障", Scenario.Fail),
        ("Limit", "限流", Scenario.RateLimit),
        ("Flaky", "抖动", Scenario.Flaky),
        ("Unsupported", "不支持", Scenario.Unsupported),
        ("Invalid", "无效", Scenario.Invalid),
    ];

    public static Scenario Of(params string?[] names)
    {
        foreach (var name in names)
        {
            foreach (var (english, chinese, scenario) in Keywords)
            {
                if (name is not null && (name.Contains(english, StringComparison.OrdinalIgnoreCase) || name.Contains(chinese, StringComparison.Ordinal)))
                {
                    return scenario;
                }
            }
        }

        return Scenario.Normal;
    }

    public static string Describe() => string.Join(Environment.NewLine, Keywords.Select(k => $"  {k.English} / {k.Chinese}: {k.Scenario}"));
}
