using System.Diagnostics.Metrics;

namespace GridDispatch.Silo;

/// <summary>
/// GridDispatch's own meter, next to Orleans' "Microsoft.Orleans": created through the host's <see cref="IMeterFactory"/>
/// (one meter per host, so tests can tell hosts apart), instruments named <c>griddispatch.*</c>.
/// </summary>
public static class GridDispatchMeter
{
    public const string Name = "GridDispatch";

    public static Meter Create(IMeterFactory factory) => factory.Create(Name);
}
