using GridDispatch.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace GridDispatch.Incidents;

/// <summary>
/// One incident's closed loop. Calls go out only, never back in: to its grid (routing up the chain, and a one-way
/// summary), to workers (offers and task updates) and to queues (releases). Nothing calls an incident but the API,
/// its own reminder and timers, so no call cycle can reach it.
/// </summary>
public sealed partial class IncidentGrain(
    ILegacyIncidentRows legacyRows,
    EngineClock clock,
    CategoryCatalog catalog,
    DeadlinePolicy deadlines,
    IIncidentEventSink eventLog,
    IIncidentStore incidents,
    IPersonalDataStore personalData,
    Live.LiveFeed live,
    Telemetry.EngineMetrics metrics,
    IOptions<DispatchOptions> options,
    ILogger<IncidentGrain> logger) : Grain, IIncidentGrain, IRemindable
{
    private const string SystemActor = IncidentDecider.SystemActor;
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromHours(12);

    private readonly DispatchOptions _o = options.Value;
    private readonly IncidentDecider _decider = new(options.Value, catalog, deadlines);
    private IGrainTimer? _timer;
    private Assignee? _publishedAssignee;
    private string? _publishedQueue;
    private bool _dirty;
    private bool _publishedTerminal;
    private ReporterContact? _contact;
    private DateTimeOffset _now;

    private IncidentTimeline? _timeline;

    /// <summary>
    /// The next due time the store holds for this incident: as read at activation, then as each append wrote it. (Only
    /// an incident stored before deadlines became data, with no entry after its snapshot, starts from its fold's
    /// guess, and <see cref="_recordedDueExact"/> is false until its first append.)
    /// </summary>
    private DateTimeOffset? _recordedDue;
    private bool _recordedDueExact;
    private string? _rescheduleReason;
    private bool _appended;

    private IncidentTimeline Timeline => _timeline ?? throw new InvalidOperationException("The incident's timeline is read at activation");

    private IncidentRecord S => Timeline.State;

    private string Id => this.GetPrimaryKeyString();

    private Category Category => catalog.Get(S.R.Category);

    private int Weight => _o.WeightOf(S.R.Severity);

    private ModePolicy Policy => _o.PolicyFor(S.AcceptedMode);

    private TimeSpan AcceptanceWindow => _o.AcceptanceTimeoutOf(S.R.Severity) * Policy.AcceptanceFactor;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var legacy = new LegacySnapshot(ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GridDispatchStorage.Name), this.GetGrainId(),
            await legacyRows.MayExistAsync());
        _timeline = new IncidentTimeline(Id, legacy, incidents, eventLog);
        await Timeline.LoadAsync();
        _publishedAssignee = S.Assignee;
        _publishedQueue = S.QueuedAt;
        _publishedTerminal = S.Exists && IncidentRules.IsTerminal(S.State);
        if (S.Exists)
        {
            ResumeRouting();
            await LoadContactAsync();
        }

        ReadRecordedDue();
        TellAgainIfRecent();
        ArmTimer();
    }

    public Task<IncidentView> GetAsync() => Task.FromResult(View());

    public Task RepublishLogAsync()
    {
        Timeline.RepublishLegacy();
        return Task.CompletedTask;
    }

    public async Task<ReportResult> ReportAsync(IncidentReport report)
    {
        // Personal data never enters the timeline: the report keeps the reporter's id, the contact goes to its own store.
        var contact = ReporterContact.Of(report.Reporter);
        // (A reporter without an id, say from a 311 app, stays as an empty reporter: it marks that a contact exists.)
        report = report with { Reporter = report.Reporter is { } r ? new Reporter(r.Id, null, null, null) : null };
        if (S.Exists)
        {
            return new ReportResult(View(), false, S.Fingerprint == IncidentIds.Fingerprint(report));
        }

        _decider.ValidateReport(report);
        if (contact is not null)
        {
            ValidateContact(contact);
        }
        var gridMode = await GrainFactory.Reference<IGridGrain>(report.GridCode).GetModeAsync()
            ?? throw new DomainException(DomainErrors.InvalidInput, $"Unknown grid '{report.GridCode}'", "gridCode");

        if (contact is not null)
        {
            await personalData.SaveAsync(Id, report.Reporter?.Id, contact);
            _contact = contact;
        }

        IncidentView view;
        try
        {
            view = await Run(async () =>
            {
            var category = catalog.Get(report.Category);
            Emit(IncidentEventKind.Reported, report.Actor, $"reported via {report.Source}", report: report,
                until: _o.AutoAccept ? null : deadlines.Due(_now, category.AcceptLimit, report.Severity), photos: report.Photos);
            if (_o.AutoAccept)
            {
                await AcceptAndRouteAsync("system:intake", "accepted automatically at intake", gridMode.Mode);
            }
            else
            {
                await CommitAsync();
            }
            });
        }
        catch when (contact is not null && !S.Exists)
        {
            // Nothing was committed: the contact saved ahead of it belongs to no incident, so it goes too.
            _contact = null;
            await TryAsync(() => personalData.EraseAsync(Id, SystemActor));
            throw;
        }

        LogReported(Id, report.Category, report.GridCode, S.State);
        return new ReportResult(view, true, true);
    }

    public Task<IncidentView> AcceptAsync(ActorCommand command) => Run(async () =>
    {
        RequireActor(command);
        Expect(IncidentEventKind.Accepted);
        var gridMode = await GrainFactory.Reference<IGridGrain>(S.R.GridCode).GetModeAsync();
        await AcceptAndRouteAsync(command.Actor, command.Reason, gridMode?.Mode ?? Mode.Everyday);
    });

    public Task<IncidentView> AssignAsync(AssignCommand command) => Run(async () =>
    {
        RequireActor(new ActorCommand(command.Actor));
        Expect(IncidentEventKind.Dispatched);
        if (string.IsNullOrWhiteSpace(command.WorkerId))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A worker id is required", "workerId");
        }

        if (command.ExpectedUnit is { } unit && unit != S.LevelCode)
        {
            throw new DomainException(DomainErrors.Conflict, $"The incident has moved from {unit} to {S.Level} {S.LevelCode} since; look again", "id");
        }

        await RequireServesAsync(command.WorkerId, Policy.OverloadedAt);
        var assignee = Assignee.Worker(command.WorkerId);
        Emit(IncidentEventKind.Dispatched, command.Actor, command.Reason ?? "assigned by hand", level: S.Level,
            unit: S.LevelCode, assignee: assignee, until: _now + AcceptanceWindow);
        _offer = (command.WorkerId, Policy.OverloadedAt);
        await CommitOfferAsync();
    });

    public Task<IncidentView> AcknowledgeAsync(ActorCommand command) => WorkerStep(IncidentEventKind.TaskAcknowledged, command);

    public Task<IncidentView> StartAsync(ActorCommand command) => WorkerStep(IncidentEventKind.WorkStarted, command);

    public Task<IncidentView> ResolveAsync(ActorCommand command) => WorkerStep(IncidentEventKind.Resolved, command);

    public Task<IncidentView> DeclineAsync(ActorCommand command) => WorkerStep(IncidentEventKind.TaskDeclined, command, reroute: true);

    public Task<IncidentView> HandBackAsync(ActorCommand command) => WorkerStep(IncidentEventKind.HandedBack, command, reroute: true);

    public Task<IncidentView> VerifyAsync(ActorCommand command) => Decided(() => _decider.Step(S, IncidentEventKind.Verified, command, _now));

    public Task<IncidentView> ReworkAsync(ActorCommand command) => Decided(() => _decider.Step(S, IncidentEventKind.ReturnedForRework, command, _now));

    public Task<IncidentView> CloseAsync(ActorCommand command) => Decided(() => _decider.Step(S, IncidentEventKind.Closed, command, _now));

    public Task<IncidentView> CancelAsync(ActorCommand command) => Decided(() => _decider.Step(S, IncidentEventKind.Cancelled, command, _now));

    public Task<IncidentView> RateAsync(RateCommand command) => Decided(() => _decider.Rate(S, command, _now));

    public Task<IncidentView> DeferAsync(DeferCommand command) => Decided(() => _decider.Defer(S, command, _now));

    public Task<IncidentView> ResumeAsync(ActorCommand command) => Decided(() => _decider.Resume(S, command, _now), route: true);

    public Task<IncidentView> EscalateAsync(ActorCommand command) => Decided(() => _decider.Escalate(S, command, _now), route: true);

    public Task<IncidentView> ErasePersonalDataAsync(ActorCommand command) => Run(async () =>
    {
        RequireActor(command);
        if (!S.Exists)
        {
            throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");
        }

        // Recorded first, then erased: if the erasure step is lost, the next activation sees the entry and repeats it.
        if (_contact is not null || S.Timeline.All(e => e.Kind != IncidentEventKind.PersonalDataErased))
        {
            Emit(IncidentEventKind.PersonalDataErased, command.Actor, command.Reason ?? "erased on request");
            await CommitAsync();
        }

        _contact = null;
        await personalData.EraseAsync(Id, command.Actor);
    });

    public async Task MoveOffAsync(MoveOff move)
    {
        try
        {
            await Run(async () =>
            {
                if (!S.Exists || S.State != IncidentState.Dispatched || S.Assignee is not { Kind: AssigneeKind.Worker } from
                    || from.Id != move.WorkerId)
                {
                    return;     // started, finished or moved meanwhile: the task stays where it is
                }

                var request = new RouteRequest(Id, S.R.Category, Category.Department, S.R.Severity, Weight, S.R.GridCode,
                    [.. S.Excluded, move.WorkerId], [], new RebalanceFrom(move.WorkerId, move.Utilisation, move.OffDuty));
                var outcome = await GrainFactory.GetRouteTarget(S.LevelCode).RouteAsync(request);
                if (outcome.Assignee is not { Kind: AssigneeKind.Worker } to)
                {
                    return;
                }

                Emit(IncidentEventKind.Reassigned, SystemActor,
                    $"moved off {move.WorkerId} ({move.Reason}) to {to.Id}, {outcome.Note ?? $"picked by {outcome.Level} {outcome.Code}"}",
                    level: S.Level, unit: outcome.Code, assignee: to, until: _now + AcceptanceWindow);
                _offer = (to.Id, outcome.OverloadedAt);
                await CommitOfferAsync();
            });
        }
        catch (Exception ex)
        {
            LogMoveFailed(ex, Id, move.WorkerId);
        }
    }

    private Task<IncidentView> WorkerStep(IncidentEventKind kind, ActorCommand command, bool reroute = false) =>
        Decided(() => _decider.WorkerStep(S, kind, command, _now), route: reroute);

    /// <summary>Runs a decision: its entries are applied, then the incident is routed on (where it hands it on) or committed.</summary>
    private Task<IncidentView> Decided(Func<IReadOnlyList<TimelineEntry>> decide, bool route = false) => Run(async () =>
    {
        var entries = decide();
        Record(entries);
        if (route && entries.Count > 0)     // a replayed step (no entries) routes nothing again
        {
            await RouteAsync();
        }
        else
        {
            await CommitAsync();
        }
    });

    /// <summary>Applies entries a decision made (numbered after the timeline, not yet stored).</summary>
    private void Record(IReadOnlyList<TimelineEntry> entries)
    {
        foreach (var entry in entries)
        {
            S.Apply(entry);
            _dirty = true;
        }
    }

    private TimelineEntry Emit(IncidentEventKind kind, string actor, string? reason = null, RegionLevel? level = null, string? unit = null,
        Assignee? assignee = null, int? stars = null, DateTimeOffset? until = null, DeadlineKind? deadline = null, IncidentReport? report = null,
        Mode? mode = null, PhotoList? photos = null)
    {
        var from = S.Exists ? S.State : IncidentState.Reported;
        var to = kind == IncidentEventKind.Reported && !S.Exists ? IncidentState.Reported : IncidentRules.Next(kind, from);
        var entry = new TimelineEntry(S.Timeline.Count + 1, _now, actor, kind, from, to, reason, level, unit, assignee, stars, until, deadline, report, mode, photos);
        S.Apply(entry);
        _dirty = true;
        return entry;
    }

    /// <summary>
    /// Runs a command at one instant (every entry and deadline it makes shares that time); if it fails after changing
    /// state in memory, the last committed state is read back.
    /// </summary>
    private async Task<IncidentView> Run(Func<Task> command)
    {
        _now = clock.Now;
        try
        {
            await command();
        }
        catch when (_dirty || Timeline.HasPending)
        {
            try
            {
                _offer = null;
                await Timeline.ReloadAsync();
                ResumeRouting();
                ReadRecordedDue();
                if (_unheard.Count > 0)
                {
                    // Tells of an earlier commit are still unheard, and the store may hold their due time, not this one.
                    S.Deadlines[DeadlineKind.Tell] = clock.Now + _o.TellRetryDelay;
                }

                ArmTimer();
            }
            catch
            {
                // The store is away: drop this activation so uncommitted changes can never be served or committed later.
                DeactivateOnIdle();
                throw;
            }

            _dirty = false;
            throw;
        }

        return View();
    }

    /// <summary>
    /// Stores what the command made (with the next due time), then tells whoever must hear of it (the outbox). True
    /// when the worker a new offer went to refused it; the caller records that as a decline.
    /// </summary>
    private async Task<bool> CommitAsync()
    {
        if (!_dirty)
        {
            return false;
        }

        RecordMovedDeadline();
        var appending = Timeline.HasPending;
        var plan = appending ? PlanTells() : [];
        ArmTimer();
        var due = NextDeadline()?.At;
        var from = Timeline.Committed;
        try
        {
            await Timeline.CommitAsync(due);
        }
        catch (IncidentConflictException e)
        {
            // Another activation of this incident appended first: this one's view is stale, so it ends; the next
            // command finds the incident read afresh.
            DeactivateOnIdle();
            throw new DomainException(DomainErrors.Conflict, $"{e.Message}; try again", "id");
        }

        if (appending)
        {
            (_recordedDue, _recordedDueExact, _appended) = (due, true, true);
            metrics.Committed(S.Timeline, from, S.ReportedAt, S.R.Severity, !S.MissedDeadline);
        }

        _dirty = false;
        return await PublishAsync(plan);
    }

    /// <summary>Commits a new offer; a worker who refuses it has declined, and the incident is routed on.</summary>
    private async Task CommitOfferAsync()
    {
        if (await CommitAsync())
        {
            Emit(IncidentEventKind.TaskDeclined, SystemActor, $"{S.Assignee} could not take the task (off duty, at capacity or unknown)");
            await RouteAsync();
        }
    }

    private void Expect(IncidentEventKind kind) => IncidentDecider.Expect(S, kind);

    private static void RequireActor(ActorCommand command, bool reasonRequired = false) => IncidentDecider.RequireActor(command, reasonRequired);

    private IncidentView View() => S.Exists
        ? S.View(Id, clock.Now, _contact)
        : throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Incident {IncidentId} reported: {Category} in grid {GridCode}, now {State}")]
    private partial void LogReported(string incidentId, string category, string gridCode, IncidentState state);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Incident {IncidentId} missed its deadline at {Level} {Code}")]
    private partial void LogDeadlineMissed(string incidentId, RegionLevel level, string code);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Routing incident {IncidentId} from {Code} failed; it will be retried")]
    private partial void LogRouteFailed(Exception ex, string incidentId, string code);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Incident {IncidentId} could not notify {Target}")]
    private partial void LogNotifyFailed(Exception ex, string incidentId, string target);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Moving incident {IncidentId} off worker {WorkerId} failed; it stays")]
    private partial void LogMoveFailed(Exception ex, string incidentId, string workerId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "The reporter's contact of incident {IncidentId} could not be read or written; the incident goes on without it")]
    private partial void LogContactUnavailable(Exception ex, string incidentId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Deadline check of incident {IncidentId} failed")]
    private partial void LogDeadlineCheckFailed(Exception ex, string incidentId);
}
