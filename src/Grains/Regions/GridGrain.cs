using System.Collections.Immutable;
using GridDispatch.Domain;
using GridDispatch.Incidents;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Regions;

[GenerateSerializer, Alias("GridDispatch.GridRecord.v1")]
public sealed class GridRecord : IUnitRecord
{
    [Id(0)] public GridDefinition? Definition { get; set; }
    [Id(1)] public Roster Roster { get; set; } = new();
    [Id(2)] public Dictionary<string, IncidentSummary> Open { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public KpiLedger Kpi { get; set; } = new();
    [Id(4)] public long Version { get; set; }
    /// <summary>The last incidents that were closed or cancelled here, newest first.</summary>
    [Id(5)] public List<IncidentSummary> RecentlyFinished { get; set; } = [];
    [Id(6)] public OperatingMode Mode { get; set; } = OperatingMode.Default;
    /// <summary>The newest mode broadcast taken from the community.</summary>
    [Id(7)] public long InheritedVersion { get; set; }
}

/// <summary>
/// A unit grid: first link of the escalation chain, keeper of its open-work index and colour.
/// It calls only upwards (its community), and only by routing requests and one-way, batched summaries.
/// </summary>
public sealed class GridGrain(
    [PersistentState("grid", GridDispatchStorage.Name)] IPersistentState<GridRecord> store,
    EngineClock clock,
    DifficultyScorer scorer,
    IOptions<DispatchOptions> options,
    ILogger<GridGrain> logger) : UnitGrain<GridRecord>(store, options.Value, logger), IGridGrain
{
    private const int RecentLimit = 50;

    public async Task<GridView> DefineAsync(GridDefinition definition)
    {
        if (definition.Code != Code || !RegionCode.IsValid(Code, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Grid code must be the 15-digit key {Code}", "code");
        }

        if (definition.Households < 0 || definition.FloatingPopulation < 0 || definition.RentedHomes < 0
            || definition.Shops < 0 || definition.HighRiseBuildings < 0 || definition.Buildings < 0)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Counts of a grid cannot be negative", "households");
        }

        S.Definition = definition;
        await StoreChangeAsync();
        return View();
    }

    public Task<OperatingMode?> GetModeAsync() => Task.FromResult(S.Definition is null ? null : S.Mode);

    public Task<GridView> GetAsync() => S.Definition is null
        ? throw new DomainException(DomainErrors.NotFound, $"No grid '{Code}'")
        : Task.FromResult(View());

    /// <summary>
    /// Everyday: the grid's own fitting worker, else pass up. Emergency (<see cref="ModePolicy.DispatchFromPool"/>): the
    /// least-loaded fitting worker of the community, then the street, else pass up. A rebalancing move asks the grid,
    /// then the pools, and never passes up.
    /// </summary>
    public async Task<RouteOutcome> RouteAsync(RouteRequest request)
    {
        if (S.Definition is not null)
        {
            if (!Policy.DispatchFromPool && TryDispatch(RegionLevel.Grid, request) is { } own)
            {
                return own;
            }

            if ((Policy.DispatchFromPool || request.Rebalance is not null)
                && await GrainFactory.GetRegion(RegionCode.Parent(Code)!).PickFromPoolAsync(request) is { } pooled)
            {
                S.Roster.Reserve(pooled.WorkerId, request.Weight);
                return new RouteOutcome(RegionLevel.Grid, Code, Assignee.Worker(pooled.WorkerId), request.Passes, pooled.OverloadedAt,
                    $"least loaded fitting worker of {RegionCode.LevelOf(pooled.FromCode).ToString().ToLowerInvariant()} {pooled.FromCode}");
            }

            if (Policy.DispatchFromPool && TryDispatch(RegionLevel.Grid, request) is { } fallback)
            {
                return fallback;
            }
        }

        if (request.Rebalance is not null)
        {
            return new RouteOutcome(RegionLevel.Grid, Code, null, request.Passes);
        }

        var reason = S.Definition is null ? "grid is not defined" : S.Roster.ExplainMiss(request, Policy);
        if (Policy.DispatchFromPool && S.Definition is not null)
        {
            reason = $"no fitting worker in the community or street pool; grid: {reason}";
        }

        var parent = RegionCode.Parent(Code)!;
        return await GrainFactory.GetRegion(parent).RouteAsync(
            request with { Passes = request.Passes.Add(new RoutePass(RegionLevel.Grid, Code, reason)) });
    }

    public async Task InheritModeAsync(OperatingMode mode, long version)
    {
        if (!TakeInherited(version))
        {
            return;
        }

        S.Mode = mode;
        await StoreChangeAsync();
    }

    public Task IncidentChangedAsync(IncidentSummary incident)
    {
        if (S.Kpi.FoldedIds.Contains(incident.Id)
            || (S.Open.TryGetValue(incident.Id, out var known) && known.Version >= incident.Version))
        {
            return Task.CompletedTask;
        }

        S.Kpi.Record(incident.Id, incident.Facts, incident.IsTerminal);
        if (incident.IsTerminal)
        {
            S.Open.Remove(incident.Id);
            S.RecentlyFinished.Insert(0, incident);
            if (S.RecentlyFinished.Count > RecentLimit)
            {
                S.RecentlyFinished.RemoveAt(RecentLimit);
            }
        }
        else
        {
            S.Open[incident.Id] = incident;
        }

        MarkChanged();
        return Task.CompletedTask;
    }

    protected override UnitSummary? CurrentSummary() => S.Definition is null ? null : Summary();

    private GridView View()
    {
        var d = S.Definition!;
        return new GridView(d, scorer.Score(d), scorer.RecommendedWorkers(d), [.. S.Roster.Entries.Values.OrderBy(e => e.WorkerId)],
            Summary(), [.. S.Open.Values.OrderBy(i => i.Id)], [.. S.RecentlyFinished]);
    }

    private UnitSummary Summary()
    {
        var open = S.Open.Values;
        var work = open.Where(i => IncidentRules.IsWork(i.State)).ToList();
        var colour = open.Any(i => i.Overdue) || work.Any(i => i.Severity == Severity.Critical) ? Colour.Red
            : work.Count > 0 ? Colour.Yellow
            : Colour.Green;
        var home = S.Roster.HomeMembers(Code).ToList();
        return new UnitSummary(
            Code, RegionLevel.Grid, S.Definition?.Name ?? Code, colour,
            open.GroupBy(i => i.State).ToImmutableDictionary(g => g.Key, g => g.Count()),
            open.Count, open.Count(i => i.Overdue),
            colour == Colour.Green ? 1 : 0, colour == Colour.Yellow ? 1 : 0, colour == Colour.Red ? 1 : 0,
            home.Count, home.Sum(e => e.Load), home.Sum(e => e.Capacity), S.Kpi.Current(), S.Version, clock.Now, S.Mode);
    }
}
