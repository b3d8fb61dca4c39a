using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Campaigns;

[GenerateSerializer, Alias("GridDispatch.CampaignRecord.v1")]
public sealed class CampaignRecord
{
    [Id(0)] public CampaignSpec? Spec { get; set; }
    [Id(1)] public CampaignStatus Status { get; set; }
    [Id(2)] public bool Emergency { get; set; }
    [Id(3)] public DateTimeOffset LaunchedAt { get; set; }
    [Id(4)] public List<CampaignRound> Rounds { get; set; } = [];
    [Id(5)] public DateTimeOffset? EndedAt { get; set; }
    [Id(6)] public string? EndReason { get; set; }
    [Id(7)] public DateTimeOffset? NextRoundAt { get; set; }
}

/// <summary>
/// A mass task over a scope. It issues each round down the region tree one-way (the tree fans it out to every grid,
/// 64 sends at a time per region) and reads progress from the scope's rolled-up summary, so neither issuing nor
/// watching puts load on one grain per task. Scheduled rounds are driven by a reminder.
/// </summary>
public sealed partial class CampaignGrain(
    [PersistentState("campaign", GridDispatchStorage.Name)] IPersistentState<CampaignRecord> store,
    EngineClock clock,
    WorkingCalendar calendar,
    CommandAuthority authority,
    IOptions<DispatchOptions> options,
    ILogger<CampaignGrain> logger) : Grain, ICampaignGrain, IRemindable
{
    private const string ReminderName = "rounds";

    private CampaignRecord S => store.State;

    private string Id => this.GetPrimaryKeyString();

    public async Task<CampaignView> LaunchAsync(CampaignSpec spec)
    {
        if (S.Spec is not null)
        {
            return SameSpec(S.Spec, spec)
                ? await GetAsync()
                : throw new DomainException(DomainErrors.Conflict, $"Campaign '{Id}' was launched with a different order");
        }

        Validate(spec);
        authority.Require(spec.Actor, spec.ActorScope, spec.Scope, "launch a campaign there");
        var mode = RegionCode.LevelOf(spec.Scope) == RegionLevel.Grid
            ? await GrainFactory.Reference<IGridGrain>(spec.Scope).GetModeAsync()
                ?? throw new DomainException(DomainErrors.NotFound, $"No grid '{spec.Scope}'", "scope")
            : (await GrainFactory.GetRegion(spec.Scope).GetAsync()).Summary.Mode ?? OperatingMode.Default;

        var now = clock.Now;
        S.Spec = spec;
        S.Status = CampaignStatus.Running;
        S.Emergency = mode.Mode == Mode.Emergency;
        S.LaunchedAt = now;
        var order = NextRound(now);
        await store.WriteStateAsync();
        if (S.NextRoundAt is not null)
        {
            await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }

        await DirectoryChangedAsync();
        await Follower(spec.Scope).StartCampaignAsync(order);
        LogLaunched(Id, spec.Kind, spec.Scope, spec.Actor);
        return await GetAsync();
    }

    public async Task<CampaignView> GetAsync(int accountabilityLimit = 200)
    {
        var spec = S.Spec ?? throw new DomainException(DomainErrors.NotFound, $"No campaign '{Id}'");
        accountabilityLimit = Math.Clamp(accountabilityLimit, 0, 5000);
        CampaignProgress progress;
        var byRegion = ImmutableArray.CreateBuilder<RegionProgress>();
        if (RegionCode.LevelOf(spec.Scope) == RegionLevel.Grid)
        {
            var grid = await GrainFactory.Reference<IGridGrain>(spec.Scope).GetAsync();
            progress = ProgressOf(grid.Summary);
            byRegion.Add(new RegionProgress(spec.Scope, RegionLevel.Grid, grid.Definition.Name, progress));
        }
        else
        {
            var scope = await GrainFactory.GetRegion(spec.Scope).GetAsync();
            progress = ProgressOf(scope.Summary);
            byRegion.Add(new RegionProgress(spec.Scope, scope.Level, scope.Definition.Name, progress));
            byRegion.AddRange(scope.Children.Select(c => new RegionProgress(c.Code, c.Level, c.Name, ProgressOf(c))));
        }

        var uncovered = accountabilityLimit > 0 ? await UncoveredAsync(spec.Scope, accountabilityLimit) : [];
        return new CampaignView(Id, spec, S.Status, S.Emergency, S.LaunchedAt, [.. S.Rounds], S.EndedAt, S.EndReason, progress,
            byRegion.ToImmutable(), uncovered, progress.Total - progress.Done, S.NextRoundAt);
    }

    public async Task<CampaignView> EndAsync(string actor, string reason, string? actorScope = null)
    {
        var spec = S.Spec ?? throw new DomainException(DomainErrors.NotFound, $"No campaign '{Id}'");
        authority.Require(actor, actorScope, spec.Scope, "end this campaign");
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 1000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason (1–1000 characters) is required", "reason");
        }

        if (S.Status == CampaignStatus.Ended)
        {
            return await GetAsync();
        }

        S.Status = CampaignStatus.Ended;
        S.EndedAt = clock.Now;
        S.EndReason = reason;
        S.NextRoundAt = null;
        await store.WriteStateAsync();
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        await DirectoryChangedAsync();
        await Follower(spec.Scope).EndCampaignAsync(Id, reason);
        return await GetAsync();
    }

    public async Task<CampaignView> TickAsync()
    {
        if (S.Spec is null)
        {
            throw new DomainException(DomainErrors.NotFound, $"No campaign '{Id}'");
        }

        var now = clock.Now;
        if (S.Status == CampaignStatus.Running && S.NextRoundAt is { } due && now >= due)
        {
            var order = NextRound(now);
            await store.WriteStateAsync();
            await Follower(S.Spec.Scope).StartCampaignAsync(order);
        }

        return await GetAsync(0);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.Status != CampaignStatus.Running || S.NextRoundAt is null)
        {
            if (await this.GetReminder(ReminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        await TickAsync();
    }

    /// <summary>Records the next round (issued now) and when the one after it starts, if the schedule has one.</summary>
    private CampaignOrder NextRound(DateTimeOffset now)
    {
        var spec = S.Spec!;
        DateTimeOffset? next = spec.Schedule is { TimesOfDay.IsDefaultOrEmpty: false } schedule
            ? calendar.NextAt(now, schedule.TimesOfDay)
            : null;
        if (next is { } n && spec.Schedule!.Until is { } until && n > until)
        {
            next = null;
        }

        var due = next ?? now + options.Value.CampaignRoundDuration;
        var round = new CampaignRound(S.Rounds.Count + 1, now, due);
        S.Rounds.Add(round);
        S.NextRoundAt = next;
        return new CampaignOrder(Id, round.Round, spec.Kind, spec.Title, now, due, S.Emergency, spec.Tags, spec.Supplies);
    }

    /// <summary>Walks down from the scope only into children with something uncovered, until the limit is reached.</summary>
    private async Task<ImmutableArray<UncoveredTarget>> UncoveredAsync(string code, int limit)
    {
        if (RegionCode.LevelOf(code) == RegionLevel.Grid)
        {
            return await GrainFactory.Reference<IGridGrain>(code).UncoveredAsync(Id, limit);
        }

        var region = await GrainFactory.GetRegion(code).GetAsync();
        var found = ImmutableArray.CreateBuilder<UncoveredTarget>();
        foreach (var child in region.Children.Where(c => ProgressOf(c) is { } p && p.Total > p.Done))
        {
            if (found.Count >= limit)
            {
                break;
            }

            found.AddRange(await UncoveredAsync(child.Code, limit - found.Count));
        }

        return found.ToImmutable();
    }

    private CampaignProgress ProgressOf(UnitSummary summary) =>
        summary.Campaigns is { } campaigns && campaigns.TryGetValue(Id, out var p) ? p : CampaignProgress.Zero;

    private ICampaignFollower Follower(string scope) => RegionCode.LevelOf(scope) == RegionLevel.Grid
        ? GrainFactory.Reference<IGridGrain>(scope)
        : GrainFactory.GetRegion(scope);

    private Task DirectoryChangedAsync() =>
        GrainFactory.Reference<IOperationsDirectoryGrain>(RegionCode.AncestorAt(S.Spec!.Scope, RegionLevel.City))
            .CampaignChangedAsync(new CampaignEntry(Id, S.Spec.Scope, S.Spec.Kind, S.Spec.Title, S.Status, S.Emergency, S.LaunchedAt));

    private static bool SameSpec(CampaignSpec a, CampaignSpec b) =>
        a.Scope == b.Scope && a.Kind == b.Kind && a.Title == b.Title && a.Actor == b.Actor
        && (a.Schedule?.Until == b.Schedule?.Until)
        && (a.Schedule?.TimesOfDay ?? []).SequenceEqual(b.Schedule?.TimesOfDay ?? []);

    private void Validate(CampaignSpec spec)
    {
        if (!RegionCode.IsValid(spec.Scope))
        {
            throw new DomainException(DomainErrors.InvalidInput, "The scope is a region or grid code", "scope");
        }

        if (!Enum.IsDefined(spec.Kind))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Kind is sweep-buildings, check-households or deliver-supplies", "kind");
        }

        if (string.IsNullOrWhiteSpace(spec.Title) || spec.Title.Length > 200)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A title of 1–200 characters is required", "title");
        }

        if (spec.Schedule is { } schedule)
        {
            if (schedule.TimesOfDay.IsDefaultOrEmpty || schedule.TimesOfDay.Length > 24
                || schedule.TimesOfDay.Distinct().Count() != schedule.TimesOfDay.Length)
            {
                throw new DomainException(DomainErrors.InvalidInput, "A schedule has 1–24 distinct times of day", "schedule.timesOfDay");
            }

            if (schedule.Until is { } until && until <= clock.Now)
            {
                throw new DomainException(DomainErrors.InvalidInput, "A schedule must end in the future", "schedule.until");
            }
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Campaign {CampaignId} ({Kind}) launched over {Scope} by {Actor}")]
    private partial void LogLaunched(string campaignId, CampaignKind kind, string scope, string actor);
}

[GenerateSerializer, Alias("GridDispatch.OperationsDirectoryRecord.v1")]
public sealed class OperationsDirectoryRecord
{
    [Id(0)] public Dictionary<string, CampaignEntry> Campaigns { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public HashSet<string> ActiveEpisodes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A city's list of campaigns and active emergency episodes; written once per launch, end or switch.</summary>
public sealed class OperationsDirectoryGrain(
    [PersistentState("operations", GridDispatchStorage.Name)] IPersistentState<OperationsDirectoryRecord> store)
    : Grain, IOperationsDirectoryGrain
{
    public async Task CampaignChangedAsync(CampaignEntry entry)
    {
        store.State.Campaigns[entry.Id] = entry;
        await store.WriteStateAsync();
    }

    public Task<ImmutableArray<CampaignEntry>> CampaignsAsync(string scope) =>
        Task.FromResult<ImmutableArray<CampaignEntry>>([.. store.State.Campaigns.Values
            .Where(c => c.Scope.StartsWith(scope, StringComparison.Ordinal))
            .OrderByDescending(c => c.LaunchedAt).ThenBy(c => c.Id, StringComparer.Ordinal)]);

    public async Task EpisodeChangedAsync(string scope, bool active)
    {
        if (active ? store.State.ActiveEpisodes.Add(scope) : store.State.ActiveEpisodes.Remove(scope))
        {
            await store.WriteStateAsync();
        }
    }

    public Task<string?> EpisodeCoveringAsync(string code) =>
        Task.FromResult(store.State.ActiveEpisodes.Where(e => code.StartsWith(e, StringComparison.Ordinal)).MaxBy(e => e.Length));

    public Task<ImmutableArray<string>> ActiveEpisodesAsync() =>
        Task.FromResult<ImmutableArray<string>>([.. store.State.ActiveEpisodes.Order(StringComparer.Ordinal)]);
}
