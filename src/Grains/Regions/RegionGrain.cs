using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Regions;

[GenerateSerializer, Alias("GridDispatch.RegionRecord.v1")]
public sealed class RegionRecord : IUnitRecord
{
    [Id(0)] public RegionDefinition? Definition { get; set; }
    [Id(1)] public Dictionary<string, UnitSummary> Children { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The region's own staff (community police, street and district officers).</summary>
    [Id(2)] public Roster Roster { get; set; } = new();
    [Id(3)] public HashSet<string> Queue { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public long Version { get; set; }
    [Id(5)] public OperatingMode Mode { get; set; } = OperatingMode.Default;
    /// <summary>The mode set at this very scope, if any; it wins over the inherited one.</summary>
    [Id(6)] public OperatingMode? OwnMode { get; set; }
    [Id(7)] public OperatingMode Inherited { get; set; } = OperatingMode.Default;
    [Id(8)] public List<OperatingMode> ModeHistory { get; set; } = [];
    /// <summary>How many times this region has passed its mode down (children ignore older broadcasts).</summary>
    [Id(9)] public long ModeBroadcasts { get; set; }
    /// <summary>The newest broadcast taken from the parent.</summary>
    [Id(10)] public long InheritedVersion { get; set; }
    /// <summary>Communities and streets: every worker whose home is below, from their own reports.</summary>
    [Id(11)] public Roster Pool { get; set; } = new();
}

/// <summary>
/// A region above the grids. As a link of the escalation chain it handles an incident with its own staff, summons the
/// owning department (from <see cref="DispatchOptions.DepartmentFromLevel"/> up), or passes it to its parent; the city
/// never passes, it queues for a commander. Roll-ups arrive from children as one-way snapshots and leave upwards in
/// batches, so the city receives one message per district per interval, never one per incident.
/// </summary>
public abstract class RegionGrain(IPersistentState<RegionRecord> store, EngineClock clock, Live.LiveFeed live, IOptions<DispatchOptions> options, ILogger logger)
    : UnitGrain<RegionRecord>(store, live, options.Value, logger), IRegionGrain
{
    private const int TopLoaded = 10;

    private readonly DispatchOptions _options = options.Value;

    protected abstract RegionLevel Level { get; }

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
        await StoreChangeAsync();
        return View();
    }

    public async Task<RegionView> SwitchModeAsync(ModeCommand command)
    {
        if (Level is not (RegionLevel.City or RegionLevel.District or RegionLevel.Street))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Mode is set at city, district or street scope", "code");
        }

        if (S.Definition is null)
        {
            throw new DomainException(DomainErrors.NotFound, $"No {Level} '{Code}'");
        }

        if (string.IsNullOrWhiteSpace(command.Actor) || command.Actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (string.IsNullOrWhiteSpace(command.Reason) || command.Reason.Length > 1000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason (1–1000 characters) is required", "reason");
        }

        if (!Enum.IsDefined(command.Mode))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Mode is everyday or emergency", "mode");
        }

        if (command.Mode == Mode.Emergency ? command.Level is not ("I" or "II" or "III" or "IV") : command.Level is not null)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An emergency needs a response level I, II, III or IV; everyday has none", "level");
        }

        var change = new OperatingMode(command.Mode, Code, command.Level, command.Reason, command.Actor, clock.Now);
        S.ModeHistory.Add(change);
        S.OwnMode = command.Mode == Mode.Emergency ? change : null;
        await ApplyModeAsync();
        return View();
    }

    public async Task InheritModeAsync(OperatingMode mode, long version)
    {
        if (!TakeInherited(version))
        {
            return;
        }

        S.Inherited = mode;
        if (S.Definition is null)
        {
            S.Mode = S.OwnMode ?? mode;     // kept in memory only: a definition stores it, a stray lookup stores nothing
            return;
        }

        await ApplyModeAsync();     // passed on: children that missed it take it too
    }

    /// <summary>Recomputes the effective mode, stores it, and passes it to every child (one-way, 64 sends at a time).</summary>
    private async Task ApplyModeAsync()
    {
        S.Mode = S.OwnMode ?? S.Inherited;
        var version = ++S.ModeBroadcasts;
        await StoreChangeAsync();
        var mode = S.Mode;
        await FanOutAsync<IModeFollower>(child => child.InheritModeAsync(mode, version));
    }

    public Task StartCampaignAsync(CampaignOrder order) =>
        FanOutAsync<ICampaignFollower>(child => child.StartCampaignAsync(order));

    public Task EndCampaignAsync(string campaignId, string reason) =>
        FanOutAsync<ICampaignFollower>(child => child.EndCampaignAsync(campaignId, reason));

    /// <summary>
    /// Passes a command to every child (grids and regions both follow modes and campaigns), one-way, 64 sends at a
    /// time: commands go down without waiting.
    /// </summary>
    private async Task FanOutAsync<TFollower>(Func<TFollower, Task> send)
        where TFollower : class, IGrainWithStringKey
    {
        foreach (var batch in (S.Definition?.Children ?? []).Chunk(64))
        {
            await Task.WhenAll(batch.Select(child => send((TFollower)(RegionCode.LevelOf(child) == RegionLevel.Grid
                ? GrainFactory.Reference<IGridGrain>(child)
                : (IAddressable)GrainFactory.GetRegion(child)))));
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        CatchUpModeSoon();
        return Task.CompletedTask;
    }

    public Task<ModeBroadcast> CurrentModeAsync() => Task.FromResult(new ModeBroadcast(S.Mode, S.ModeBroadcasts));

    public Task<RegionView> GetAsync() => S.Definition is null
        ? throw new DomainException(DomainErrors.NotFound, $"No {Level} '{Code}'")
        : Task.FromResult(View());

    public async Task<RouteOutcome> RouteAsync(RouteRequest request)
    {
        if (TryDispatch(Level, request) is { } handled)
        {
            return handled;
        }

        if (request.Rebalance is not null)
        {
            var pooled = Level is RegionLevel.Community or RegionLevel.Street ? await PickFromPoolAsync(request) : null;
            return new RouteOutcome(Level, Code, pooled is null ? null : Assignee.Worker(pooled.WorkerId), request.Passes,
                pooled?.OverloadedAt ?? Policy.OverloadedAt, pooled is null ? null : $"least loaded fitting worker of {pooled.FromCode}");
        }

        if (Level >= _options.DepartmentFromLevel && !string.IsNullOrEmpty(request.Department))
        {
            var byDepartment = await GrainFactory.Reference<IDepartmentGrain>(RegionCode.DepartmentKey(Code, request.Department)).RouteAsync(request);
            return byDepartment with { Level = Level, Code = Code, Passes = request.Passes };
        }

        if (Level == RegionLevel.City)
        {
            return new RouteOutcome(Level, Code, null, request.Passes);     // the incident, once stored as queued, holds itself here
        }

        var reason = S.Definition is null ? $"{Level} is not defined" : S.Roster.ExplainMiss(request, Policy);
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
        MarkChanged();
        return Task.CompletedTask;
    }

    public async Task HoldAsync(string incidentId)
    {
        if (S.Queue.Add(incidentId))
        {
            await StoreChangeAsync();
        }
    }

    public async Task ReleaseAsync(string incidentId)
    {
        if (S.Queue.Remove(incidentId))
        {
            await StoreChangeAsync();
        }
    }

    public Task PoolChangedAsync(RosterEntry entry, bool member)
    {
        if (member ? S.Pool.Upsert(entry) : S.Pool.Leave(entry.WorkerId))
        {
            MarkStored();   // the pool is not part of the summary: no roll-up push for a worker's load report
        }

        return Task.CompletedTask;
    }

    public Task<ImmutableArray<RosterEntry>> GetPoolAsync() =>
        Task.FromResult<ImmutableArray<RosterEntry>>([.. S.Pool.Entries.Values.OrderBy(e => e.WorkerId, StringComparer.Ordinal)]);

    public async Task<PoolPick?> PickFromPoolAsync(RouteRequest request)
    {
        var candidates = S.Pool.Entries.Values.Concat(S.Roster.Entries.Values.Where(e => !S.Pool.Entries.ContainsKey(e.WorkerId)));
        if (Roster.Pick(candidates, request, Policy) is { } pick)
        {
            S.Pool.Reserve(pick.WorkerId, request.Weight);
            S.Roster.Reserve(pick.WorkerId, request.Weight);
            return new PoolPick(pick.WorkerId, Code, Policy.OverloadedAt);
        }

        return Level == RegionLevel.Community
            ? await GrainFactory.GetRegion(RegionCode.Parent(Code)!).PickFromPoolAsync(request)
            : null;
    }

    protected override UnitSummary? CurrentSummary() => S.Definition is null ? null : Summary();

    private RegionView View() => new(S.Definition!, Level, Summary(),
        [.. S.Children.Values.OrderBy(c => c.Code, StringComparer.Ordinal)],
        [.. S.Roster.Entries.Values.OrderBy(e => e.WorkerId, StringComparer.Ordinal)],
        [.. S.Queue.Order(StringComparer.Ordinal)],
        S.OwnMode,
        [.. S.ModeHistory]);

    private UnitSummary Summary() => UnitRollUp.Merge(
        Code, Level, S.Definition?.Name ?? Code, S.Children.Values, [.. S.Roster.HomeMembers(Code)], S.Version, clock.Now, S.Mode,
        Policy.OverloadedAt, TopLoaded);
}

public sealed class CommunityGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, Live.LiveFeed live, IOptions<DispatchOptions> options, ILogger<CommunityGrain> logger)
    : RegionGrain(store, clock, live, options, logger), ICommunityGrain
{
    protected override RegionLevel Level => RegionLevel.Community;
}

public sealed class StreetGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, Live.LiveFeed live, IOptions<DispatchOptions> options, ILogger<StreetGrain> logger)
    : RegionGrain(store, clock, live, options, logger), IStreetGrain
{
    protected override RegionLevel Level => RegionLevel.Street;
}

public sealed class DistrictGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, Live.LiveFeed live, IOptions<DispatchOptions> options, ILogger<DistrictGrain> logger)
    : RegionGrain(store, clock, live, options, logger), IDistrictGrain
{
    protected override RegionLevel Level => RegionLevel.District;
}

public sealed class CityGrain(
    [PersistentState("region", GridDispatchStorage.Name)] IPersistentState<RegionRecord> store,
    EngineClock clock, Live.LiveFeed live, IOptions<DispatchOptions> options, ILogger<CityGrain> logger)
    : RegionGrain(store, clock, live, options, logger), ICityGrain
{
    protected override RegionLevel Level => RegionLevel.City;
}
