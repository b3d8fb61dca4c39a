using System.Diagnostics;

namespace GridDispatch.Telemetry;

/// <summary>A grain that can say more about the call it served than its identity does (a unit: its operating mode).</summary>
public interface IDomainTagged
{
    void Tag(Activity activity);
}

/// <summary>
/// The domain's tags on spans, in one place: the incident, grid or region a request or grain call is about, the region's
/// level and, for grids and regions, the operating mode (and an emergency's response level, I–IV). Named <c>griddispatch.*</c>; the HTTP request span and each
/// grain call span get them from what they name (a route value, a grain's key).
/// </summary>
public static class DomainTags
{
    public const string Incident = "griddispatch.incident.id";
    public const string Grid = "griddispatch.grid.code";
    public const string Region = "griddispatch.region.code";
    public const string Level = "griddispatch.level";
    public const string Mode = "griddispatch.mode";
    public const string Worker = "griddispatch.worker.id";

    /// <summary>Tags a grain call by the grain it went to.</summary>
    public static void ForGrain(Activity? activity, object grain, string key)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        switch (grain)
        {
            case IIncidentGrain:
                activity.SetTag(Incident, key);
                break;
            case IGridGrain or IRegionGrain:
                ForCode(activity, key);
                break;
            case IWorkerGrain:
                activity.SetTag(Worker, key);
                break;
        }

        if (grain is IDomainTagged tagged)
        {
            tagged.Tag(activity);
        }
    }

    /// <summary>Tags an HTTP request by the route values it names: an incident's id, a grid's or region's code, a worker.</summary>
    public static void ForRoute(Activity? activity, string? route, Func<string, string?> value)
    {
        if (activity is not { IsAllDataRequested: true } || route is null)
        {
            return;
        }

        if (route.StartsWith("/api/incidents/{id}", StringComparison.Ordinal) && value("id") is { } incident)
        {
            activity.SetTag(Incident, incident);
        }
        else if (route.StartsWith("/api/workers/{id}", StringComparison.Ordinal) && value("id") is { } worker)
        {
            activity.SetTag(Worker, worker);
        }
        else if (value("code") is { } code && RegionCode.IsValid(code))
        {
            ForCode(activity, code);
        }
    }

    public const string EmergencyLevel = "griddispatch.emergency.level";

    public static void ForMode(Activity activity, OperatingMode mode)
    {
        activity.SetTag(Mode, mode.Mode == GridDispatch.Mode.Emergency ? "emergency" : "everyday");
        if (mode.Mode == GridDispatch.Mode.Emergency && mode.Level is { } level)
        {
            activity.SetTag(EmergencyLevel, level);
        }
    }

    private static void ForCode(Activity activity, string code)
    {
        if (!RegionCode.TryGetLevel(code, out var level))
        {
            return;
        }

        activity.SetTag(level == RegionLevel.Grid ? Grid : Region, code);
        activity.SetTag(Level, level.ToString().ToLowerInvariant());
    }
}
