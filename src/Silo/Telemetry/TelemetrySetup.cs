using GridDispatch.Domain;
using GridDispatch.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GridDispatch.Silo.Telemetry;

/// <summary>Section "GridDispatch:Telemetry": what a host exports besides the standard OTEL_* variables.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "GridDispatch:Telemetry";

    /// <summary>
    /// Traces: recorded when an OTLP endpoint is set (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
    /// <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) unless this says false, or when this says true (a test's own exporter).
    /// Off otherwise: spans nobody exports cost every call.
    /// </summary>
    public bool? Tracing { get; set; }

    /// <summary>A silo-only host's Prometheus scrape port (0 = none); the API host serves <c>/metrics</c> on its own port.</summary>
    public int PrometheusPort { get; set; }

    /// <summary>
    /// The Orleans dashboard: every silo collects its grain statistics (a grain call filter) and the API host serves it
    /// at /dashboard to commanders and administrators. Off unless set: it profiles every grain call (the test suite ran
    /// 5 min 9 s with it on everywhere, 3 min 21 s without); the container files turn it on. Set it on every silo of a
    /// cluster, or the dashboard sees only the ones that have it. Its live log stream stays off.
    /// </summary>
    public bool Dashboard { get; set; }

    /// <summary>
    /// Networks (CIDR) besides this machine whose callers may scrape <c>/metrics</c> (Prometheus' in the cluster: the pod
    /// network). Anyone else, and any request that came through a proxy or the ingress, finds nothing there: the city's
    /// figures (overdue cases, overloaded workers, grids in emergency) are for its operators.
    /// </summary>
    public List<string> MetricsFrom { get; set; } = [];

    /// <summary>How often the API host reads the city's roll-up for its gauges (one grain call each time).</summary>
    public TimeSpan CityEvery { get; set; } = TimeSpan.FromSeconds(15);

    public static SettingRules<TelemetryOptions> Rules => new SettingRules<TelemetryOptions>(Section)
        .Between(nameof(PrometheusPort), o => o.PrometheusPort, 0, 65535)
        .AtLeast(nameof(CityEvery), o => o.CityEvery, TimeSpan.FromSeconds(1));

    /// <summary>The section as configured, its rules checked (for what is read while the host is being built).</summary>
    public static TelemetryOptions Read(IConfiguration configuration) =>
        Rules.Check(configuration.GetSection(Section).Get<TelemetryOptions>() ?? new TelemetryOptions());
}

/// <summary>
/// OpenTelemetry for both hosts in one place: traces from Orleans' grain calls and storage and Npgsql's commands (the
/// API adds its HTTP requests), metrics from the Microsoft.Orleans, GridDispatch and Npgsql meters and the .NET runtime
/// (the API adds ASP.NET Core's, SignalR's among them), exported over OTLP when the standard variables name an endpoint.
/// </summary>
public static class TelemetrySetup
{
    public static readonly string[] Sources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.Orleans.Storage", EngineMetrics.MeterName];

    public static readonly string[] Meters = ["Microsoft.Orleans", EngineMetrics.MeterName, "Npgsql"];

    public static bool OtlpConfigured(IConfiguration configuration, string signal) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);

    /// <summary>Whether this host runs the Orleans dashboard (<see cref="TelemetryOptions.Dashboard"/>): read once by the silo and by the API.</summary>
    public static bool DashboardOn(IConfiguration configuration) => TelemetryOptions.Read(configuration).Dashboard;

    public static bool TracingOn(IConfiguration configuration) =>
        configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>()?.Tracing ?? OtlpConfigured(configuration, "TRACES");

    public static IOpenTelemetryBuilder AddGridDispatchTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName,
        Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).Checked(TelemetryOptions.Rules);
        var version = typeof(TelemetrySetup).Assembly.GetName().Version?.ToString(3);
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] ?? serviceName, serviceVersion: version,
                serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithMetrics(m =>
            {
                m.AddMeter(Meters).AddRuntimeInstrumentation().AddNpgsqlInstrumentation();
                metrics?.Invoke(m);
                if (OtlpConfigured(configuration, "METRICS"))
                {
                    m.AddOtlpExporter();
                }
            });
        // Listeners are process-wide: a provider would also take other hosts' meters of the same names (test hosts, each
        // with its own factory) and their streams tangle (a disposed host's meter stops or resets the others'). Each
        // provider keeps the meters of its own host's factory, and meters made without one (static ones).
        services.ConfigureOpenTelemetryMeterProvider((sp, m) =>
        {
            var own = sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            m.AddView(i => i.Meter.Scope is System.Diagnostics.Metrics.IMeterFactory other && !ReferenceEquals(other, own) ? MetricStreamConfiguration.Drop : null);
        });
        if (TracingOn(configuration))
        {
            builder.WithTracing(t =>
            {
                t.AddSource(Sources).AddNpgsql();
                tracing?.Invoke(t);
                if (OtlpConfigured(configuration, "TRACES"))
                {
                    t.AddOtlpExporter();
                }
            });
        }

        return builder;
    }
}

/// <summary>Puts the domain's tags (<see cref="DomainTags"/>) on the span of each grain call, once the call has run.</summary>
internal sealed class DomainTagsFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (System.Diagnostics.Activity.Current is { } span && span.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal))
        {
            DomainTags.ForGrain(span, context.Grain, context.TargetId.Key.ToString()!);
        }
    }
}
