using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Regions;

[GenerateSerializer, Alias("GridDispatch.RegionRecord.v1")]
public sealed class RegionRecord
{
    [Id(0)] public RegionDefinition? Definition { get; set; }
    [Id(1)] public Dictionary<string, UnitSummary> Children { get; set; } = new(StringComparer.Ordinal);
    [Id(2)] public Roster Staff { get; set; } = new();
    [Id(3)] public HashSet<string> Queue { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public long Version { get; set; }
}

/// <summary>
/// A region above the grids. As a link of the escalation chain it handles an incident with its own staff, summons the
/// owning department (from <see cref="DispatchOptions.DepartmentFromLevel"/> up), or passes it to its parent; the city
/// never passes, it queues for a commander. Roll-ups arrive from children as one-way snapshots and leave upwards in
/// batches, so the city receives one message per district per interval, never one per incident.
/// </summary>
public abstract partial class RegionGrain : Grain, IRegionGrain
{
    private readonly IPersistentState<RegionRecord> _store;
    private readonly EngineClock _clock;
    private readonly DispatchOptions _options;
    private readonly ILogger _logger;
    private readonly RollupSchedule _rollup;
    private bool _shuttingDown;

    protected RegionGrain(IPersistentState<RegionRecord> store, EngineClock clock, IOptions<DispatchOptions> options, ILogger logger)
    {
        _store = store;
        _clock = clock;
        _options = options.Value;
        _logger = logger;
        _rollup = new RollupSchedule(this, _options.RollupInterval, FlushAsync);
    }

    protected abstract RegionLevel Level { get; }

    private RegionRecord S => _store.State;

    private string Code => this.GetPrimaryKeyString();

    public async Task<RegionView> DefineAsync(RegionDefinition definition)
    {
        if (definition.Code != Code || !RegionCode.IsValid(Code, Level))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"A {Level} code must be the key {Code}", "code");
        }

        var stray = definition.Children.FirstOrDefault(c => !RegionCode.IsValid(c, Level - 1) || RegionCode.Parent(c) != Code);
        if (stray is not null)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"'{stray}' is not a {Level - 1} code under {Code}", "children");
        }

        S.Definition = definition;
        S.Version++;
        await _store.WriteStateAsync();
        _rollup.MarkDirty();
        return View();
    }

    public Task<RegionView> GetAsync() => S.Definition is null
        ? throw new DomainException(DomainErrors.NotFound, $"No {Level} '{Code}'")
        : Task.FromResult(View());

    public async Task<RouteOutcome> RouteAsync(RouteRequest request)
    {
        if (S.Staff.Pick(request) is { } pick)
        {
            S.Staff.Reserve(pick.WorkerId, request.Weight);
            return new RouteOutcome(Level, Code, Assignee.Worker(pick.WorkerId), request.Passes);
        }

        if (Level >= _options.DepartmentFromLevel && !string.IsNullOrEmpty(request.Department))
        {
            var byDepartment = await GrainFactory.GetGrain<IDepartmentGrain>(RegionCode.DepartmentKey(Code, request.Department)).RouteAsync(request);
            return byDepartment with { Level = Level, Code = Code, Passes = request.Passes };
        }

        if (Level == RegionLevel.City)
        {
            if (S.Queue.Add(request.IncidentId))
            {
                S.Version++;
                await _store.WriteStateAsync();
            }

            return new RouteOutcome(Level, Code, null, request.Passes);
        }

        var reason = S.Definition is null ? $"{Level} is not defined" : S.Staff.ExplainMiss(request);
        return await GrainFactory.GetRegion(RegionCode.Parent(Code)!).RouteAsync(
            request with { Passes = request.Passes.Add(new RoutePass(Level, Code, reason)) });
    }

    public Task ChildChangedAsync(UnitSummary summary)
    {
        if (RegionCode.Parent(summary.Code) != Code
            || (S.Children.TryGetValue(summary.Code, out var known) && known.Version >= summary.Version && known.AsOf >= summary.AsOf))
        {
            return Task.CompletedTask;
        }

        S.Children[summary.Code] = summary;
        S.Version++;
        _rollup.MarkDirty();
        return Task.CompletedTask;
    }

    public async Task ReleaseAsync(string incidentId)
    {
        if (S.Queue.Remove(incidentId))
        {
            S.Version++;
            await _store.WriteStateAsync();
        }
    }

    public async Task JoinRosterAsync(RosterEntry entry)
    {
        S.Staff.Join(entry);
        S.Version++;
        await _store.WriteStateAsync();
        _rollup.MarkDirty();
    }

    public async Task LeaveRosterAsync(string workerId)
    {
        if (S.Staff.Leave(workerId))
        {
            S.Version++;
            await _store.WriteStateAsync();
            _rollup.MarkDirty();
        }
    }

    public Task WorkerChangedAsync(RosterEntry entry)
    {
        if (S.Staff.Update(entry))
        {
            S.Version++;
            _rollup.MarkDirty();
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            // A silo shutting down only stores; pushing up would reach parents that are deactivating too.
            _shuttingDown = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
            await _rollup.FlushAsync();
        }
        catch (Exception ex)
        {
            LogFlushFailed(ex, Level, Code);
        }
    }

    private async Task FlushAsync()
    {
        await _store.WriteStateAsync();
        if (Level != RegionLevel.City && S.Definition is not null && !_shuttingDown)
        {
            await GrainFactory.GetRegion(RegionCode.Parent(Code)!).ChildChangedAsync(Summary());
        }
    }

    private RegionView View() => new(S.Definition!, Level, Summary(),
        [.. S.Children.Values.OrderBy(c => c.Code, StringComparer.Ordinal)],
        [.. S.Staff.Entries.Values.OrderBy(e => e.WorkerId, StringComparer.Ordinal)],
        [.. S.Queue.Order(StringComparer.Ordinal)]);

    private UnitSummary Summary()
    {
        var children = S.Children.Values.ToList();
        var staff = S.Staff.HomeMembers(Code).ToList();
        var byState = children.SelectMany(c => c.OpenByState)
            .GroupBy(kv => kv.Key)
            .ToImmutableDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        var red = children.Sum(c => c.Red);
        var yellow = children.Sum(c => c.Yellow);
        return new UnitSummary(
            Code, Level, S.Definition?.Name ?? Code,
            red > 0 ? Colour.Red : yellow > 0 ? Colour.Yellow : Colour.Green,
            byState, children.Sum(c => c.OpenIncidents), children.Sum(c => c.Overdue),
            children.Sum(c => c.Green), yellow, red,
            children.Sum(c => c.Workers) + staff.Count,
            children.Sum(c => c.Load) + staff.Sum(e => e.Load),
            children.Sum(c => c.Capacity) + staff.Sum(e => e.Capacity),
            children.Aggregate(KpiSet.Zero, (sum, c) => sum.Add(c.Kpi)),
            S.Version, _clock.Now);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "{Level} {Code} could not flush its roll-up on deactivation")]
    private partial void LogFlushFailed(Exception ex, RegionLevel level, string code);
}

public sealed class CommunityGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, IOptions<DispatchOptions> options, ILogger<CommunityGrain> logger)
    : RegionGrain(store, clock, options, logger), ICommunityGrain
{
    protected override RegionLevel Level => RegionLevel.Community;
}

public sealed class StreetGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, IOptions<DispatchOptions> options, ILogger<StreetGrain> logger)
    : RegionGrain(store, clock, options, logger), IStreetGrain
{
    protected override RegionLevel Level => RegionLevel.Street;
}

public sealed class DistrictGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, IOptions<DispatchOptions> options, ILogger<DistrictGrain> logger)
    : RegionGrain(store, clock, options, logger), IDistrictGrain
{
    protected override RegionLevel Level => RegionLevel.District;
}

public sealed class CityGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, IOptions<DispatchOptions> options, ILogger<CityGrain> logger)
    : RegionGrain(store, clock, options, logger), ICityGrain
{
    protected override RegionLevel Level => RegionLevel.City;
}
