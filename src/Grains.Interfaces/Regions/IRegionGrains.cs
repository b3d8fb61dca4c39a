using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>A grid or region that follows the operating mode of the scope above it.</summary>
[Alias("GridDispatch.IModeFollower")]
public interface IModeFollower : IGrainWithStringKey
{
    /// <summary>
    /// The effective mode of the parent, passed down the tree. One-way: commands go down, never wait on children.
    /// <paramref name="version"/> counts the parent's broadcasts, so one that arrives after a newer one is ignored.
    /// </summary>
    [OneWay, Alias("InheritMode")] Task InheritModeAsync(OperatingMode mode, long version);
}

/// <summary>
/// A unit grid (网格): roster, open-work index, colour and the first dispatch decision. Keyed by its 15-digit code.
/// </summary>
[Alias("GridDispatch.IGridGrain")]
public interface IGridGrain : IRosterHolder, IRouteTarget, IModeFollower, ICampaignFollower
{
    [Alias("GetSweepTask")] Task<SweepTaskView> GetSweepTaskAsync(string taskId);

    /// <summary>The assigned worker starts a campaign task; from then on it is never moved to someone else.</summary>
    [Alias("StartSweepTask")] Task<SweepTaskView> StartSweepTaskAsync(string taskId, string actor);

    /// <summary>The assigned worker reports the result. Findings are reported as incidents by the caller, not here.</summary>
    [Alias("FinishSweepTask")] Task<SweepTaskView> FinishSweepTaskAsync(string taskId, SweepResult result);

    /// <summary>Targets of the campaign's current round here that are not done, up to <paramref name="limit"/>.</summary>
    [Alias("Uncovered")] Task<ImmutableArray<UncoveredTarget>> UncoveredAsync(string campaignId, int limit);

    [Alias("Define")] Task<GridView> DefineAsync(GridDefinition definition);

    /// <summary>Defines the grid only if it has no definition yet (a start-up load never overwrites a stored grid); true when it did.</summary>
    [Alias("DefineIfNew")] Task<bool> DefineIfNewAsync(GridDefinition definition);

    [Alias("Get")] Task<GridView> GetAsync();

    /// <summary>The grid's effective operating mode; null when the grid is not defined.</summary>
    [Alias("GetMode")] Task<OperatingMode?> GetModeAsync();

    /// <summary>
    /// An incident of this grid changed (its latest summary; an older or repeated one is ignored). Awaited by the
    /// incident's outbox, so a grid that does not answer is told again; the grid never calls incidents back.
    /// </summary>
    [Alias("IncidentChanged")] Task IncidentChangedAsync(IncidentSummary incident);

    /// <summary>
    /// A household of this grid changed colour, warning or revisit: the grid recounts its register at the next
    /// roll-up (from the store, so a lost notice is healed by the next one) and pushes the counts up the tree.
    /// </summary>
    [OneWay, Alias("HouseholdsChanged")] Task HouseholdsChangedAsync();
}

/// <summary>A region of the tree above the grids: its children, own staff, roll-ups and escalation handling.</summary>
[Alias("GridDispatch.IRegionGrain")]
public interface IRegionGrain : IRosterHolder, IRouteTarget, IModeFollower, ICampaignFollower
{
    /// <summary>
    /// Switches the mode at this scope (city, district or street only) and fans it out down the tree; units below
    /// inherit it unless a scope between sets its own. Everyday removes this scope's own setting, so the scope falls
    /// back to what it inherits. Every switch is kept with who, when and why.
    /// </summary>
    [Alias("SwitchMode")] Task<RegionView> SwitchModeAsync(ModeCommand command);

    [Alias("Define")] Task<RegionView> DefineAsync(RegionDefinition definition);

    [Alias("Get")] Task<RegionView> GetAsync();

    /// <summary>
    /// The mode this region passes down and its broadcast count: a child that activates takes it when it is newer than
    /// what it stored (it was not active when the switch went down, or its silo died before storing it). Interleaved,
    /// so a child asking from its activation never waits behind a call this region makes to it.
    /// </summary>
    [AlwaysInterleave, Alias("CurrentMode")] Task<ModeBroadcast> CurrentModeAsync();

    /// <summary>A child's latest summary (a full snapshot, so a lost or repeated push heals itself). One-way, batched by the child.</summary>
    [OneWay, Alias("ChildChanged")] Task ChildChangedAsync(UnitSummary summary);

    /// <summary>
    /// An incident that stored itself as queued here for manual assignment (routing at city level found no one) joins
    /// the queue. Told after the incident's commit, again until heard; idempotent.
    /// </summary>
    [Alias("Hold")] Task HoldAsync(string incidentId);

    /// <summary>An incident queued here for manual assignment left the queue (idempotent).</summary>
    [Alias("Release")] Task ReleaseAsync(string incidentId);

    /// <summary>
    /// A worker whose home is below this community or street reports its load (one-way), so the region keeps a pool of
    /// every worker under it for emergency dispatch and rebalancing. <paramref name="member"/> false takes it out.
    /// </summary>
    [OneWay, Alias("PoolChanged")] Task PoolChangedAsync(RosterEntry entry, bool member);

    /// <summary>
    /// The least-loaded fitting worker of this community's pool (then its street's), reserved at once; null when nobody
    /// fits. Asked by a grid on the way up, never passed down.
    /// </summary>
    [Alias("PickFromPool")] Task<PoolPick?> PickFromPoolAsync(RouteRequest request);

    /// <summary>The workers of the grids below who may be dispatched from this region in emergency operation, with their load as the region knows it.</summary>
    [ReadOnly, Alias("GetPool")] Task<ImmutableArray<RosterEntry>> GetPoolAsync();
}

/// <summary>A worker picked from a community's or street's pool, and the overload line of that region's mode.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.PoolPick")]
public sealed record PoolPick([property: Id(0)] string WorkerId, [property: Id(1)] string FromCode, [property: Id(2)] double OverloadedAt);

/// <summary>Community (社区). Keyed by its 12-digit code.</summary>
[Alias("GridDispatch.ICommunityGrain")]
public interface ICommunityGrain : IRegionGrain;

/// <summary>Street (街道). Keyed by its 9-digit code.</summary>
[Alias("GridDispatch.IStreetGrain")]
public interface IStreetGrain : IRegionGrain;

/// <summary>District (区). Keyed by its 6-digit administrative code.</summary>
[Alias("GridDispatch.IDistrictGrain")]
public interface IDistrictGrain : IRegionGrain;

/// <summary>City (市), the top of the chain: it never passes an incident on. Keyed by its 4-digit code.</summary>
[Alias("GridDispatch.ICityGrain")]
public interface ICityGrain : IRegionGrain;

/// <summary>A functional department (city management, police, fire, …): "the street blows the whistle, departments report".</summary>
[Alias("GridDispatch.IDepartmentGrain")]
public interface IDepartmentGrain : IRosterHolder, IRouteTarget
{
    [Alias("Define")] Task<DepartmentDefinition> DefineAsync(DepartmentDefinition definition);

    [Alias("Get")] Task<DepartmentView> GetAsync();

    /// <summary>An incident stored as summoning this department (no staff member could take it) joins its queue; told after the commit, idempotent.</summary>
    [AlwaysInterleave, Alias("Hold")] Task HoldAsync(string incidentId);

    /// <summary>An incident left the department's queue (idempotent).</summary>
    [AlwaysInterleave, Alias("Release")] Task ReleaseAsync(string incidentId);
}

public static class GridDispatchGrainFactoryExtensions
{
    /// <summary>The region grain (community, street, district or city) for a code above grid level.</summary>
    public static IRegionGrain GetRegion(this IGrainFactory factory, string code) => RegionCode.LevelOf(code) switch
    {
        RegionLevel.Community => factory.Reference<ICommunityGrain>(code),
        RegionLevel.Street => factory.Reference<IStreetGrain>(code),
        RegionLevel.District => factory.Reference<IDistrictGrain>(code),
        RegionLevel.City => factory.Reference<ICityGrain>(code),
        _ => throw new DomainException(DomainErrors.InvalidInput, $"'{code}' is a grid code, not a region above grid level", "code"),
    };

    /// <summary>The link of the escalation chain for a grid or region code.</summary>
    public static IRouteTarget GetRouteTarget(this IGrainFactory factory, string code) =>
        RegionCode.LevelOf(code) == RegionLevel.Grid ? factory.Reference<IGridGrain>(code) : factory.GetRegion(code);

    /// <summary>The roster holder for a unit code: a grid, a region, or (for a non-numeric code) a department.</summary>
    public static IRosterHolder GetRosterHolder(this IGrainFactory factory, string unit) =>
        !RegionCode.IsValid(unit) ? factory.Reference<IDepartmentGrain>(unit)
        : RegionCode.LevelOf(unit) == RegionLevel.Grid ? factory.Reference<IGridGrain>(unit)
        : factory.GetRegion(unit);
}
