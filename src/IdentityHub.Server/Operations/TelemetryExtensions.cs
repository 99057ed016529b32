using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace IdentityHub.Server.Operations;

/// <summary>Section "Telemetry": where metrics and traces go.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Path of the Prometheus scraping endpoint; empty disables it. Default "/metrics" (restrict it at the proxy).</summary>
    public string? PrometheusPath { get; set; } = "/metrics";

    /// <summary>An OTLP collector (http://collector:4317) receiving traces and metrics; none by default.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>service.name of the OpenTelemetry resource. Default "identityhub".</summary>
    public string ServiceName { get; set; } = "identityhub";
}

public static class TelemetryExtensions
{
    /// <summary>Health checks, IdentityHub's metrics and traces with ASP.NET Core's, exported to Prometheus and/or OTLP.</summary>
    public static WebApplicationBuilder AddIdentityHubOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => string.IsNullOrEmpty(o.PrometheusPath) || o.PrometheusPath.StartsWith('/'), "Telemetry:PrometheusPath must start with /.")
            .ValidateOnStart();
        var telemetry = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new();
        services.AddIdentityHubHealthChecks(builder.Configuration);
        services.TryAddSingleton<HubMetrics>();

        // service.instance.id is the node's audit chain id, so that metrics and audit rows name a node alike.
        var node = builder.Configuration["Audit:NodeId"] is { Length: > 0 } id ? id : Environment.MachineName;
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(telemetry.ServiceName, serviceInstanceId: node))
            .WithMetrics(metrics =>
            {
                // System.Runtime: the runtime's own meter (.NET 9 and later): GC, JIT, thread pool, lock contention, exceptions,
                // the process's CPU time and working set. Observable instruments: read only when a scrape collects them.
                metrics.AddMeter(HubMetrics.MeterName).AddMeter("System.Runtime").AddAspNetCoreInstrumentation()
                    .AddView(instrument => FrameworkStreamLimit(instrument) is { } limit
                        ? new MetricStreamConfiguration { CardinalityLimit = limit }
                        : null);
                if (!string.IsNullOrEmpty(telemetry.PrometheusPath))
                {
                    metrics.AddPrometheusExporter();
                }

                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = endpoint);
                }
            });
        if (telemetry.OtlpEndpoint is { } collector)
        {
            // Traces only where a collector receives them: request spans and IdentityHub's own.
            otel.WithTracing(tracing => tracing.AddSource(HubMetrics.MeterName)
                .AddAspNetCoreInstrumentation(o =>
                    // Health probes and scrapes are not worth a trace each.
                    o.Filter = context => !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments("/metrics"))
                .AddOtlpExporter(o => o.Endpoint = collector));
        }

        return builder;
    }

    /// <summary>
    /// OpenTelemetry allocates every metric stream's points up front, as many as its cardinality limit (2,000 by
    /// default: a 144 KB array of points and a 32 KB lookup per instrument, on the large-object heap, for the server's
    /// lifetime). ASP.NET Core publishes about 40 instruments (Kestrel, routing, authentication, authorization, Identity,
    /// rate limiting, the memory pool) whose tags take a handful of values each; at <see cref="FrameworkCardinalityLimit"/>
    /// they hold about 6 MB less. IdentityHub's own instruments (tagged with client ids) and the two ASP.NET Core ones
    /// tagged with the route keep the default. A combination beyond the limit is counted under OpenTelemetry's overflow
    /// series (<c>otel.metric.overflow="true"</c>), not lost.
    /// </summary>
    public const int FrameworkCardinalityLimit = 200;

    internal static int? FrameworkStreamLimit(System.Diagnostics.Metrics.Instrument instrument) =>
        instrument.Meter.Name == HubMetrics.MeterName
        || instrument.Name is "http.server.request.duration" or "aspnetcore.routing.match_attempts"
            ? null
            : FrameworkCardinalityLimit;

    /// <summary>Maps /health/live, /health/ready and the Prometheus endpoint.</summary>
    public static WebApplication MapOperationsEndpoints(this WebApplication app)
    {
        app.MapHealthEndpoints();
        var path = app.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>()?.PrometheusPath ?? new TelemetryOptions().PrometheusPath;
        if (!string.IsNullOrEmpty(path))
        {
            app.MapPrometheusScrapingEndpoint(path);
        }

        return app;
    }
}
