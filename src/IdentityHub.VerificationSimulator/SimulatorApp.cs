using System.Text.RegularExpressions;

namespace IdentityHub.VerificationSimulator;

/// <summary>
/// A stand-alone fake of the authorities' HTTP APIs IdentityHub calls (public-security two-element,
/// carrier three-element, business registry), over a test data set, with keyword-driven failures
/// (<see cref="Scenarios"/>). For development and tests only: it holds no real personal data.
/// </summary>
public static partial class SimulatorApp
{
    public const string PublicSecurityPath = "/nciic/v1/id-verifications";
    public const string CarrierPath = "/carrier/v2/three-factor";
    public const string BusinessPath = "/market-regulation/v1/enterprise-checks";

    private sealed record PersonBody(string? Name, string? IdNumber);

    private sealed record CarrierBody(string? Name, string? IdCard, string? Mobile);

    private sealed record BusinessBody(string? CreditCode, string? EnterpriseName, string? LegalRepresentative);

    /// <summary>Builds the simulator; <paramref name="configure"/> runs before anything reads configuration (tests set URLs there).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SimulatorApp).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);
        builder.Services.AddSingleton<SimulatorData>();
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);

        var app = builder.Build();
        var apiKey = app.Configuration["Simulator:ApiKey"] ?? "simulator-development-key";

        var authorities = app.MapGroup("").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.Headers["X-Api-Key"] == apiKey ? await next(context) : Results.StatusCode(StatusCodes.Status401Unauthorized));
        authorities.MapPost(PublicSecurityPath, PublicSecurityAsync);
        authorities.MapPost(CarrierPath, CarrierAsync);
        authorities.MapPost(BusinessPath, BusinessAsync);

        // Simulator management, for developers and tests.
        app.MapPost("/simulator/people", (Person person, SimulatorData data) =>
        {
            data.Add(person);
            return Results.Created();
        });
        app.MapPost("/simulator/enterprises", (Enterprise enterprise, SimulatorData data) =>
        {
            data.Add(enterprise);
            return Results.Created();
        });
        app.MapGet("/simulator/calls", (string endpoint, string? idempotencyKey, SimulatorData data) =>
            Results.Ok(new { count = idempotencyKey is null ? data.Calls(endpoint) : data.Calls(endpoint, idempotencyKey) }));
        app.MapGet("/", () => Results.Text(
            "IdentityHub verification simulator (development only).\nEndpoints: POST " + PublicSecurityPath + ", " + CarrierPath + ", " + BusinessPath +
            "\nKeywords in a name:\n" + Scenarios.Describe() + "\n"));
        return app;
    }

    private static async Task<IResult> PublicSecurityAsync(PersonBody body, HttpContext context, SimulatorData data)
    {
        var scenario = Scenarios.Of(body.Name);
        if (await MisbehaveAsync(context, data, PublicSecurityPath, scenario) is { } failure)
        {
            return failure;
        }

        if (string.IsNullOrWhiteSpace(body.Name) || body.IdNumber is null || !IdPattern().IsMatch(body.IdNumber))
        {
            return Results.BadRequest(new { resultCode = "-1", message = "name and an 18-character idNumber are required" });
        }

        var transactionId = "PS" + Guid.NewGuid().ToString("N")[..20];
        var person = data.FindPerson(body.IdNumber);
        var code = scenario switch
        {
            Scenario.Flaky => "1",
            Scenario.Unsupported => "4",
            // Residence permits of Hong Kong, Macao and Taiwan residents are not in the population database.
            _ when body.IdNumber[..2] is "81" or "82" or "83" => "4",
            _ when person is null => "3",
            _ when person.Name != body.Name.Trim() => "2",
            _ => "1",
        };
        return Results.Ok(new { transactionId, resultCode = code });
    }

    private static async Task<IResult> CarrierAsync(CarrierBody body, HttpContext context, SimulatorData data)
    {
        var scenario = Scenarios.Of(body.Name);
        if (await MisbehaveAsync(context, data, CarrierPath, scenario) is { } failure)
        {
            return failure;
        }

        if (string.IsNullOrWhiteSpace(body.Name) || body.IdCard is null || !IdPattern().IsMatch(body.IdCard)
            || body.Mobile is null || !MobilePattern().IsMatch(body.Mobile))
        {
            return Results.BadRequest(new { status = "INVALID_PARAMETER" });
        }

        var txnId = "CA" + Guid.NewGuid().ToString("N")[..20];
        if (scenario == Scenario.Flaky)
        {
            return Results.Ok(new { txnId, status = "MATCH" });
        }

        // 174 numbers (satellite) are outside the simulated carriers' ranges.
        if (scenario == Scenario.Unsupported || body.Mobile.StartsWith("174", StringComparison.Ordinal))
        {
            return Results.Ok(new { txnId, status = "UNSUPPORTED_NUMBER" });
        }

        if (data.FindPerson(body.IdCard) is not { } person)
        {
            return Results.Ok(new { txnId, status = "NO_RECORD" });
        }

        var mismatch = new List<string>();
        if (person.Name != body.Name.Trim())
        {
            mismatch.Add("name");
        }

        if (person.Mobile != body.Mobile)
        {
            mismatch.Add("mobile");
        }

        return Results.Ok(mismatch.Count == 0 ? new { txnId, status = "MATCH", mismatch } : new { txnId, status = "MISMATCH", mismatch });
    }

    private static async Task<IResult> BusinessAsync(BusinessBody body, HttpContext context, SimulatorData data)
    {
        var scenario = Scenarios.Of(body.EnterpriseName, body.LegalRepresentative);
        if (await MisbehaveAsync(context, data, BusinessPath, scenario) is { } failure)
        {
            return failure;
        }

        if (body.CreditCode is not { Length: 18 } || string.IsNullOrWhiteSpace(body.EnterpriseName) || string.IsNullOrWhiteSpace(body.LegalRepresentative))
        {
            return Results.BadRequest(new { outcome = "invalid_parameter" });
        }

        var requestId = "MR" + Guid.NewGuid().ToString("N")[..20];
        if (scenario is Scenario.Flaky or Scenario.Unsupported)
        {
            return Results.Ok(new { requestId, outcome = scenario == Scenario.Flaky ? "consistent" : "unsupported" });
        }

        if (data.FindEnterprise(body.CreditCode) is not { } enterprise)
        {
            return Results.Ok(new { requestId, outcome = "not_found" });
        }

        var fields = new Dictionary<string, bool>
        {
            ["enterpriseName"] = enterprise.Name == body.EnterpriseName.Trim(),
            ["legalRepresentative"] = enterprise.LegalRepresentative == body.LegalRepresentative.Trim(),
        };
        return Results.Ok(new
        {
            requestId,
            outcome = fields.Values.All(v => v) ? "consistent" : "inconsistent",
            fields,
            operatingStatus = enterprise.OperatingStatus,
        });
    }

    /// <summary>Counts the call and plays the keyword's failure, or returns null to answer normally.</summary>
    private static async Task<IResult?> MisbehaveAsync(HttpContext context, SimulatorData data, string endpoint, Scenario scenario)
    {
        var calls = data.CountCall(endpoint, context.Request.Headers["Idempotency-Key"].FirstOrDefault());
        switch (scenario)
        {
            case Scenario.Timeout:
                try
                {
                    // Until the caller gives up (its timeout), at most two minutes.
                    await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return Results.Empty;
                }

                return Results.StatusCode(StatusCodes.Status504GatewayTimeout);
            case Scenario.Fail:
            case Scenario.Flaky when calls == 1:
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            case Scenario.RateLimit:
                context.Response.Headers.RetryAfter = "60";
                return Results.StatusCode(StatusCodes.Status429TooManyRequests);
            case Scenario.Invalid:
                return Results.BadRequest(new { error = "invalid input" });
            default:
                return null;
        }
    }

    [GeneratedRegex(@"^[0-9]{17}[0-9X]$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^1[3-9][0-9]{9}$")]
    private static partial Regex MobilePattern();
}
