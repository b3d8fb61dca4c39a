using System.Diagnostics.Metrics;

namespace GridDispatch.Silo;

/// <summary>
/// GridDispatch's own meter, next to Orleans' "Microsoft.Orleans": created through the host's <see cref="IMeterFactory"/>
/// (one meter per host, tagged with the host: see <see cref="GridDispatch.Telemetry.EngineMetrics.Meter"/>), instruments named <c>griddispatch.*</c>.
/// </summary>
public static class GridDispatchMeter
{
    public const string Name = GridDispatch.Telemetry.EngineMetrics.MeterName;

    public static Meter Create(IMeterFactory factory) => GridDispatch.Telemetry.EngineMetrics.Meter(factory);
}
