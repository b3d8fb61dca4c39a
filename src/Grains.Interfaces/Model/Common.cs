using System.Collections.Immutable;

namespace GridDispatch;

[GenerateSerializer, Immutable, Alias("GridDispatch.GeoPoint")]
public sealed record GeoPoint([property: Id(0)] double Latitude, [property: Id(1)] double Longitude)
{
    public bool IsValid => Latitude is >= -90 and <= 90 && Longitude is >= -180 and <= 180;

    /// <summary>Rounded to 3 decimals (about 100 m): what is shown to those who may not see the exact spot.</summary>
    public GeoPoint Coarse() => new(Math.Round(Latitude, 3), Math.Round(Longitude, 3));
}

/// <summary>Who a task or incident is with.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.Assignee")]
public sealed record Assignee([property: Id(0)] AssigneeKind Kind, [property: Id(1)] string Id)
{
    public static Assignee Worker(string id) => new(AssigneeKind.Worker, id);

    public static Assignee Department(string code) => new(AssigneeKind.Department, code);

    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}:{Id}";
}

/// <summary>
/// Additive KPI counters (one city's evaluation scheme, see DOMAIN-FACTS.md).
/// Due counts every incident once it is closed, past its deadline, or deferred;
/// Deferred counts those currently deferred, so that closure rate = Closed / (Due − Deferred).
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.KpiCounters")]
public sealed record KpiCounters(
    [property: Id(0)] int Due,
    [property: Id(1)] int Closed,
    [property: Id(2)] int ClosedOnTime,
    [property: Id(3)] int Deferred,
    [property: Id(4)] int Reworked,
    [property: Id(5)] int Rated,
    [property: Id(6)] int RatingSum)
{
    public static readonly KpiCounters Zero = new(0, 0, 0, 0, 0, 0, 0);

    public KpiCounters Add(KpiCounters o) => new(
        Due + o.Due, Closed + o.Closed, ClosedOnTime + o.ClosedOnTime, Deferred + o.Deferred,
        Reworked + o.Reworked, Rated + o.Rated, RatingSum + o.RatingSum);

    private int Denominator => Due - Deferred;

    /// <summary>Closed / (due − deferred); null while nothing is due.</summary>
    public double? ClosureRate => Denominator > 0 ? (double)Closed / Denominator : null;

    /// <summary>Closed on time / (due − deferred); null while nothing is due.</summary>
    public double? OnTimeRate => Denominator > 0 ? (double)ClosedOnTime / Denominator : null;

    /// <summary>Share of closed cases sent back for rework at least once.</summary>
    public double? ReworkRate => Closed > 0 ? (double)Reworked / Closed : null;

    public double? AverageRating => Rated > 0 ? (double)RatingSum / Rated : null;
}

/// <summary>KPIs for all incidents and, separately, for urgent and critical ones.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.KpiSet")]
public sealed record KpiSet([property: Id(0)] KpiCounters All, [property: Id(1)] KpiCounters Urgent)
{
    public static readonly KpiSet Zero = new(KpiCounters.Zero, KpiCounters.Zero);

    public KpiSet Add(KpiSet o) => new(All.Add(o.All), Urgent.Add(o.Urgent));
}

/// <summary>
/// The mode a grid or region operates in and where it comes from: <see cref="Scope"/> is the code of the region whose
/// switch set it (empty for the city's default everyday operation). Modes are set at city, district or street scope
/// and inherited below.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.OperatingMode")]
public sealed record OperatingMode(
    [property: Id(0)] Mode Mode,
    [property: Id(1)] string Scope,
    [property: Id(2)] string? Level = null,
    [property: Id(3)] string? Reason = null,
    [property: Id(4)] string? SetBy = null,
    [property: Id(5)] DateTimeOffset? Since = null)
{
    public static readonly OperatingMode Default = new(Mode.Everyday, "");
}

/// <summary>A region's effective mode and how many times it has passed its mode down (its children's inherited version).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ModeBroadcast")]
public sealed record ModeBroadcast([property: Id(0)] OperatingMode Mode, [property: Id(1)] long Version);

/// <summary>Live figures of a grid or region, as rolled up the tree.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.UnitSummary")]
public sealed record UnitSummary(
    [property: Id(0)] string Code,
    [property: Id(1)] RegionLevel Level,
    [property: Id(2)] string Name,
    [property: Id(3)] Colour Colour,
    [property: Id(4)] ImmutableDictionary<IncidentState, int> OpenByState,
    [property: Id(5)] int OpenIncidents,
    [property: Id(6)] int Overdue,
    [property: Id(7)] int Green,
    [property: Id(8)] int Yellow,
    [property: Id(9)] int Red,
    [property: Id(10)] int Workers,
    [property: Id(11)] int Load,
    [property: Id(12)] int Capacity,
    [property: Id(13)] KpiSet Kpi,
    [property: Id(14)] long Version,
    [property: Id(15)] DateTimeOffset AsOf,
    [property: Id(16)] OperatingMode? Mode,
    [property: Id(17)] ImmutableDictionary<string, CampaignProgress>? Campaigns,
    [property: Id(18)] int SurgeWorkers,
    [property: Id(19)] int Overloaded,
    // No default value: the API document's schema generator writes each constructor default, and default(ImmutableArray)
    // cannot be written as JSON (the /openapi/v1.json answered 500). A state stored before the field reads it as default.
    [property: Id(20)] ImmutableArray<WorkerBrief> TopLoaded,
    [property: Id(21)] int EmergencyGrids = 0,
    [property: Id(22)] HouseholdCounts? Households = null);

/// <summary>A worker in a load view: the most loaded ones roll up the tree.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerBrief")]
public sealed record WorkerBrief(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] WorkerKind Kind,
    [property: Id(2)] string HomeUnit,
    [property: Id(3)] WorkerStatus Status,
    [property: Id(4)] int Load,
    [property: Id(5)] int Capacity,
    [property: Id(6)] bool Temporary)
{
    public double Utilisation => Capacity > 0 ? (double)Load / Capacity : 1.0;

    public static WorkerBrief Of(RosterEntry e) => new(e.WorkerId, e.Kind, e.HomeUnit, e.Status, e.Load, e.Capacity, e.Temporary);
}
