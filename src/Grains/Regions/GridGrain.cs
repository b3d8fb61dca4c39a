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
    /// <summary>Campaigns issued to this grid, by campaign id: the current round's tasks.</summary>
    [Id(8)] public Dictionary<string, SweepCampaign> Campaigns { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Ids of ended campaigns no longer kept in <see cref="Campaigns"/>, oldest first, so a late order cannot restart one.</summary>
    [Id(9)] public List<string> Forgotten { get; set; } = [];
    /// <summary>
    /// Written true only by a deactivation's final store, false by the first incident change after it: a snapshot read
    /// back not clean may lack the last seconds of its open-work index, which is then rebuilt from the timelines.
    /// </summary>
    [Id(10)] public bool Clean { get; set; }

    /// <summary>The grid's register counts as last counted (recounted when a household of it changes).</summary>
    [Id(11)] public HouseholdCounts? Households { get; set; }
}

/// <summary>
/// A unit grid: first link of the escalation chain, keeper of its open-work index and colour.
/// It calls only upwards (its community), and only by routing requests and one-way, batched summaries.
/// </summary>
public sealed partial class GridGrain(
    [PersistentState("grid", GridDispatchStorage.Name)] IPersistentState<GridRecord> store,
    EngineClock clock,
    DifficultyScorer scorer,
    IIncidentStore incidents,
    Register.IHouseholdStore households,
    Live.LiveFeed live,
    IOptions<DispatchOptions> options,
    ILogger<GridGrain> logger) : UnitGrain<GridRecord>(store, live, options.Value, logger), IGridGrain
{
    private const int RecentLimit = 50;

    /// <summary>At most this many open incidents are read back when the index is rebuilt (a grid has 30–300 households).</summary>
    private const int MaxRebuilt = 5_000;

    /// <summary>Ended campaigns kept with their tasks (and in every summary pushed up the tree); older ones are forgotten.</summary>
    public const int EndedCampaignsKept = 8;

    /// <summary>Ids of forgotten campaigns remembered, so a late order of one is ignored.</summary>
    public const int ForgottenIdsKept = 256;
    private const int TopLoaded = 5;

    private readonly Dictionary<string, DateTimeOffset> _shedAsked = new(StringComparer.Ordinal);
    private GridCampaigns? _campaigns;
    private IGrainTimer? _dueTimer;

    private GridCampaigns Campaigns => _campaigns ??= new GridCampaigns(Code, () => clock.Now, Options.CampaignTaskWeight);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ArmDueTimer();
        if (Store.RecordExists && !S.Clean && S.Definition is not null)
        {
            await RebuildOpenAsync();
        }

        CatchUpModeSoon();
    }

    public async Task StartCampaignAsync(CampaignOrder order)
    {
        if (S.Definition is null || S.Forgotten.Contains(order.CampaignId)
            || (S.Campaigns.TryGetValue(order.CampaignId, out var known) && (known.Order.Round >= order.Round || known.EndReason is not null)))
        {
            return;
        }

        var campaign = Campaigns.Start(order, await TargetsAsync(order), known);
        S.Campaigns[order.CampaignId] = campaign;
        Campaigns.AssignPending([campaign], S.Roster, Policy);
        ArmDueTimer();
        await StoreChangeAsync();
        SendOutbox();
    }

    public async Task EndCampaignAsync(string campaignId, string reason)
    {
        if (!S.Campaigns.TryGetValue(campaignId, out var campaign) || campaign.EndReason is not null)
        {
            return;
        }

        Campaigns.Close(campaign, reason);
        campaign.EndedAt = clock.Now;
        Campaigns.AssignPending(Running(), S.Roster, Policy);
        ForgetOldCampaigns();
        await StoreChangeAsync();
        SendOutbox();
    }

    public Task<SweepTaskView> GetSweepTaskAsync(string taskId)
    {
        var (campaign, task) = Find(taskId);
        return Task.FromResult(Campaigns.View(campaign, task));
    }

    public async Task<SweepTaskView> StartSweepTaskAsync(string taskId, string actor)
    {
        var (campaign, task) = Find(taskId);
        RequireAssignee(task, actor);
        if (task.Status == SweepTaskStatus.InProgress)
        {
            return Campaigns.View(campaign, task);
        }

        if (task.Status != SweepTaskStatus.Assigned)
        {
            throw new DomainException(DomainErrors.IllegalTransition, $"The task is {task.Status}; only an assigned task can be started");
        }

        task.Status = SweepTaskStatus.InProgress;
        task.History.Add(new SweepTaskEntry(clock.Now, actor, "started"));
        Campaigns.Send(actor, campaign, task, TaskStatus.InProgress);
        await StoreChangeAsync();
        SendOutbox();
        return Campaigns.View(campaign, task);
    }

    public async Task<SweepTaskView> FinishSweepTaskAsync(string taskId, SweepResult result)
    {
        var (campaign, task) = Find(taskId);
        if (result.Note is { Length: > 1000 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The note is longer than 1000 characters", "note");
        }

        Identifiers.RequirePhotos(result.Photos);
        RequireAssignee(task, result.Actor);
        if (task.Status is SweepTaskStatus.Done or SweepTaskStatus.NotReachable)
        {
            return Campaigns.View(campaign, task);      // a repeated report of the same result
        }

        if (task.Status is not (SweepTaskStatus.Assigned or SweepTaskStatus.InProgress))
        {
            throw new DomainException(DomainErrors.IllegalTransition, $"The task is {task.Status}; it can no longer be finished");
        }

        task.Status = result.Reached ? SweepTaskStatus.Done : SweepTaskStatus.NotReachable;
        task.FinishedAt = clock.Now;
        task.Note = result.Note;
        task.Photos = result.Photos;
        task.Findings = result.Findings.IsDefault ? 0 : result.Findings.Length;
        task.History.Add(new SweepTaskEntry(clock.Now, result.Actor,
            (result.Reached ? "done" : "not reachable") + (task.Findings > 0 ? $", {task.Findings} finding(s) reported" : "")));
        if (!result.Reached)
        {
            QueueSecondVisit(campaign, task, result.Actor);
        }

        Campaigns.Send(result.Actor, campaign, task, TaskStatus.Closed);
        S.Roster.Reserve(result.Actor, -Options.CampaignTaskWeight);
        Campaigns.AssignPending(Running(), S.Roster, Policy);
        await StoreChangeAsync();
        SendOutbox();
        return Campaigns.View(campaign, task);
    }

    public Task<ImmutableArray<UncoveredTarget>> UncoveredAsync(string campaignId, int limit) =>
        Task.FromResult(S.Campaigns.TryGetValue(campaignId, out var campaign) ? Campaigns.Uncovered(campaign, limit) : []);

    protected override async Task BeforeFlushAsync()
    {
        await RecountHouseholdsAsync();
        var running = Running().ToList();
        var stillOver = Campaigns.Rebalance(running, S.Roster, Policy);
        Campaigns.AssignPending(running, S.Roster, Policy);
        if (Campaigns.Outbox.Count > 0)
        {
            S.Version++;    // tasks moved or were assigned: the summary's progress changed
        }

        SendOutbox();

        // What campaign moves could not fix is incident work: the worker's home grid asks it to shed unstarted tasks.
        foreach (var (worker, offDuty) in stillOver.Where(w => w.Worker.HomeUnit == Code))
        {
            if (_shedAsked.TryGetValue(worker.WorkerId, out var asked) && clock.Now - asked < Options.ShedInterval)
            {
                continue;
            }

            _shedAsked[worker.WorkerId] = clock.Now;
            var reason = offDuty ? "went off duty" : $"overloaded ({worker.Load} of capacity {worker.Capacity})";
            await GrainFactory.Reference<IWorkerGrain>(worker.WorkerId)
                .ShedAsync(new ShedRequest(offDuty ? 0 : worker.Capacity * Policy.OverloadedAt, reason));
        }
    }

    private IEnumerable<SweepCampaign> Running() => S.Campaigns.Values.Where(c => c.EndReason is null);

    /// <summary>Keeps the <see cref="EndedCampaignsKept"/> campaigns that ended last; the others leave state and summaries.</summary>
    private void ForgetOldCampaigns()
    {
        var ended = S.Campaigns.Values.Where(c => c.EndReason is not null)
            .OrderByDescending(c => c.EndedAt ?? c.Order.DueAt).Skip(EndedCampaignsKept).ToList();
        foreach (var old in ended)
        {
            S.Campaigns.Remove(old.Order.CampaignId);
            S.Forgotten.Add(old.Order.CampaignId);
        }

        if (S.Forgotten.Count > ForgottenIdsKept)
        {
            S.Forgotten.RemoveRange(0, S.Forgotten.Count - ForgottenIdsKept);
        }
    }

    private void SendOutbox()
    {
        foreach (var (worker, tasks) in Campaigns.Outbox)
        {
            GrainFactory.Reference<IWorkerGrain>(worker).SweepTasksChangedAsync([.. tasks]).Ignore();
        }

        Campaigns.Outbox.Clear();
    }

    private (SweepCampaign Campaign, SweepTask Task) Find(string taskId)
    {
        if (CampaignTasks.Parse(taskId) is not { } id || id.Grid != Code)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"'{taskId}' is not a campaign task of grid {Code}", "taskId");
        }

        if (!S.Campaigns.TryGetValue(id.Campaign, out var campaign) || campaign.Order.Round != id.Round
            || campaign.Tasks.Find(t => t.Target == id.Target) is not { } task)
        {
            throw new DomainException(DomainErrors.NotFound, $"No campaign task '{taskId}' (a newer round may have replaced it)");
        }

        return (campaign, task);
    }

    private static void RequireAssignee(SweepTask task, string actor)
    {
        if (string.IsNullOrWhiteSpace(actor) || actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (task.WorkerId != actor)
        {
            throw new DomainException(DomainErrors.NotAllowed,
                task.WorkerId is null ? "The task is not assigned to anyone" : $"Only the assigned worker ({task.WorkerId}) may do this", "actor");
        }
    }

    /// <summary>A one-shot timer at the earliest due time still ahead, so overdue counts change when time passes.</summary>
    private void ArmDueTimer()
    {
        _dueTimer?.Dispose();
        _dueTimer = null;
        var ahead = S.Campaigns.Values.Where(c => c.EndReason is null && c.Order.DueAt > clock.Now).Select(c => c.Order.DueAt).ToList();
        if (ahead.Count == 0)
        {
            return;
        }

        var delay = ahead.Min() - clock.Now + TimeSpan.FromSeconds(1);
        _dueTimer = this.RegisterGrainTimer(static (self, _) =>
        {
            self.MarkChanged();
            self.ArmDueTimer();
            return Task.CompletedTask;
        }, this, new GrainTimerCreationOptions(delay < TimeSpan.FromDays(7) ? delay : TimeSpan.FromDays(7), Timeout.InfiniteTimeSpan));
    }

    public async Task<bool> DefineIfNewAsync(GridDefinition definition)
    {
        if (S.Definition is not null)
        {
            return false;
        }

        await DefineAsync(definition);
        return true;
    }

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

        if (definition.Boundary is { } ring && (ring.Length is < 3 or > 500 || ring.Any(p => !p.IsValid)))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid's boundary is a ring of 3–500 valid points", "boundary");
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

    public Task InheritModeAsync(OperatingMode mode, long version)
    {
        if (!TakeInherited(version))
        {
            return Task.CompletedTask;
        }

        // Not stored one by one: 50,000 grids take a city's switch at once, and the roll-up tick stores each with its
        // new summary; a grid whose silo dies before that takes the mode from its community when it activates again.
        S.Mode = mode;
        if (S.Definition is not null)
        {
            MarkChanged();      // (an undefined grid keeps it in memory only: its definition stores it)
        }

        return Task.CompletedTask;
    }

    public async Task IncidentChangedAsync(IncidentSummary incident)
    {
        var taken = Take(incident);
        if (taken)
        {
            await TellHouseholdAsync(incident);
        }

        if (taken && S.Clean)
        {
            // The stored copy says clean: it must say otherwise before a change goes unstored (see GridRecord.Clean).
            S.Clean = false;
            try
            {
                await Store.WriteStateAsync();
            }
            catch
            {
                S.Clean = true;     // still clean as stored: the next change tries again
                throw;
            }
        }
    }

    /// <summary>Takes an incident's latest summary into the open-work index and KPIs; false when it was known already.</summary>
    private bool Take(IncidentSummary incident)
    {
        if (S.Kpi.FoldedIds.Contains(incident.Id)
            || (S.Open.TryGetValue(incident.Id, out var known) && known.Version >= incident.Version))
        {
            return false;
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
        return true;
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
        var line = Policy.OverloadedAt;
        return new UnitSummary(
            Code, RegionLevel.Grid, S.Definition?.Name ?? Code, colour,
            open.GroupBy(i => i.State).ToImmutableDictionary(g => g.Key, g => g.Count()),
            open.Count, open.Count(i => i.Overdue),
            colour == Colour.Green ? 1 : 0, colour == Colour.Yellow ? 1 : 0, colour == Colour.Red ? 1 : 0,
            home.Count, home.Sum(e => e.Load), home.Sum(e => e.Capacity), S.Kpi.Current(), S.Version, clock.Now, S.Mode,
            S.Campaigns.Count == 0 ? null : S.Campaigns.ToImmutableDictionary(c => c.Key, c => Campaigns.Progress(c.Value)),
            S.Roster.Entries.Values.Count(e => e.Temporary),
            home.Count(e => e.Load > e.Capacity * line),
            [.. home.OrderByDescending(e => (double)e.Load / e.Capacity).ThenBy(e => e.WorkerId, StringComparer.Ordinal).Take(TopLoaded)
                .Select(WorkerBrief.Of)],
            S.Mode.Mode == Mode.Emergency ? 1 : 0,
            S.Households);
    }
}
