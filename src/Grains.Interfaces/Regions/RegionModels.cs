using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>Static facts of a unit grid, from the city definition.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.GridDefinition")]
public sealed record GridDefinition(
    [property: Id(0)] string Code,
    [property: Id(1)] string Name,
    [property: Id(2)] int Households,
    [property: Id(3)] int FloatingPopulation,
    [property: Id(4)] int RentedHomes,
    [property: Id(5)] int Shops,
    [property: Id(6)] int HighRiseBuildings,
    [property: Id(7)] int Buildings,
    [property: Id(8)] GeoPoint? Centre = null,
    [property: Id(9)] ImmutableArray<GeoPoint>? Boundary = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.GridView")]
public sealed record GridView(
    [property: Id(0)] GridDefinition Definition,
    [property: Id(1)] double DifficultyScore,
    [property: Id(2)] int RecommendedWorkers,
    [property: Id(3)] ImmutableArray<RosterEntry> Roster,
    [property: Id(4)] UnitSummary Summary,
    [property: Id(5)] ImmutableArray<IncidentSummary> OpenIncidents,
    [property: Id(6)] ImmutableArray<IncidentSummary> RecentlyFinished);

[GenerateSerializer, Immutable, Alias("GridDispatch.RegionDefinition")]
public sealed record RegionDefinition(
    [property: Id(0)] string Code,
    [property: Id(1)] string Name,
    [property: Id(2)] ImmutableArray<string> Children);

[GenerateSerializer, Immutable, Alias("GridDispatch.RegionView")]
public sealed record RegionView(
    [property: Id(0)] RegionDefinition Definition,
    [property: Id(1)] RegionLevel Level,
    [property: Id(2)] UnitSummary Summary,
    [property: Id(3)] ImmutableArray<UnitSummary> Children,
    [property: Id(4)] ImmutableArray<RosterEntry> Staff,
    [property: Id(5)] ImmutableArray<string> AwaitingAssignment,
    [property: Id(6)] OperatingMode? OwnMode,
    [property: Id(7)] ImmutableArray<OperatingMode> ModeHistory);     // no default: see UnitSummary.TopLoaded

/// <summary>
/// A commander's switch of the operating mode at a scope: emergency with a response level (I–IV), or back to everyday.
/// <see cref="ActorScope"/> is the region the actor commands as verified by the caller (the API, from a signed token);
/// null lets the engine's configured commanders decide.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ModeCommand")]
public sealed record ModeCommand(
    [property: Id(0)] Mode Mode,
    [property: Id(1)] string? Level,
    [property: Id(2)] string Reason,
    [property: Id(3)] string Actor,
    [property: Id(4)] string? ActorScope = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.DepartmentDefinition")]
public sealed record DepartmentDefinition([property: Id(0)] string Code, [property: Id(1)] string Name);

[GenerateSerializer, Immutable, Alias("GridDispatch.DepartmentView")]
public sealed record DepartmentView(
    [property: Id(0)] DepartmentDefinition Definition,
    [property: Id(1)] ImmutableArray<RosterEntry> Staff,
    [property: Id(2)] ImmutableArray<string> Queue);
