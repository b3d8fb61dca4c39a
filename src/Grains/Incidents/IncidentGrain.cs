using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Incidents;

/// <summary>
/// One incident's closed loop. Calls go out only, never back in: to its grid (routing up the chain, and a one-way
/// summary), to workers (offers and task updates) and to queues (releases). Nothing calls an incident but the API,
/// its own reminder and timers, so no call cycle can reach it.
/// </summary>
public sealed partial class IncidentGrain(
    [PersistentState("incident", GridDispatchStorage.Name)] IPersistentState<IncidentRecord> store,
    EngineClock clock,
    CategoryCatalog catalog,
    DeadlinePolicy deadlines,
    IIncidentEventSink eventLog,
    IPersonalDataStore personalData,
    IOptions<DispatchOptions> options,
    ILogger<IncidentGrain> logger) : Grain, IIncidentGrain, IRemindable
{
    private const string ReminderName = "deadlines";
    private const string SystemActor = "system";
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromHours(12);

    private readonly DispatchOptions _o = options.Value;
    private IGrainTimer? _timer;
    private Assignee? _publishedAssignee;
    private string? _publishedQueue;
    private bool _dirty;
    private ReporterContact? _contact;
    private DateTimeOffset _now;
    private int _logged;

    private IncidentRecord S => store.State;

    private string Id => this.GetPrimaryKeyString();

    private Category Category => catalog.Get(S.R.Category);

    private int Weight => _o.WeightOf(S.R.Severity);

    private ModePolicy Policy => _o.PolicyFor(S.AcceptedMode);

    private TimeSpan AcceptanceWindow => _o.AcceptanceTimeoutOf(S.R.Severity) * Policy.AcceptanceFactor;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _publishedAssignee = S.Assignee;
        _publishedQueue = S.QueuedAt;
        if (S.Exists)
        {
            await LoadContactAsync();
        }

        ArmTimer();

        // Whether the last activation's entries reached the log is unknown: send the whole timeline again (the log
        // keeps each (incident, sequence) once), so nothing committed is ever missing from it.
        LogNewEntries();
    }

    /// <summary>
    /// The reporter's contact comes from the personal-data store. A state written by an older version still holds it
    /// inside the report: it is moved to the store and stripped from the state (the migration did the same to the log).
    /// </summary>
    private async Task LoadContactAsync()
    {
        if (S.Timeline.Any(e => e.Kind == IncidentEventKind.PersonalDataErased))
        {
            // Erased: the entry is committed before the store is blanked, so blank it again in case that step was lost.
            _contact = null;
            await TryAsync(() => personalData.EraseAsync(Id, SystemActor));
            return;
        }

        var legacy = ReporterContact.Of(S.R.Reporter);
        try
        {
            if (legacy is not null)
            {
                await personalData.SaveAsync(Id, S.R.Reporter!.Id, legacy);
                S.StripContact();
                await store.WriteStateAsync();
                _contact = legacy;
                return;
            }

            _contact = S.R.Reporter is null ? null : await personalData.GetAsync(Id);     // no reporter, no contact to read
        }
        catch (Exception ex) when (ex is not DomainException)
        {
            // The incident works without its reporter's contact: a store that is away costs the contact, not the case.
            LogContactUnavailable(ex, Id);
            _contact = legacy;
        }
    }

    private async Task TryAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception ex) when (ex is not DomainException)
        {
            LogContactUnavailable(ex, Id);
        }
    }

    public Task<IncidentView> GetAsync() => Task.FromResult(View());

    public Task RepublishLogAsync()
    {
        _logged = 0;
        LogNewEntries();
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

        ValidateReport(report);
        if (contact is not null)
        {
            ValidateContact(contact);
        }
        var gridMode = await GrainFactory.GetGrain<IGridGrain>(report.GridCode).GetModeAsync()
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
                until: _o.AutoAccept ? null : deadlines.Due(_now, category.AcceptLimit, report.Severity));
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
        var gridMode = await GrainFactory.GetGrain<IGridGrain>(S.R.GridCode).GetModeAsync();
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

        await RequireServesAsync(command.WorkerId);
        var assignee = Assignee.Worker(command.WorkerId);
        Emit(IncidentEventKind.Dispatched, command.Actor, command.Reason ?? "assigned by hand", level: S.Level,
            unit: S.LevelCode, assignee: assignee, until: _now + AcceptanceWindow);
        if (!await OfferAsync(command.WorkerId, Policy.OverloadedAt))
        {
            throw new DomainException(DomainErrors.NotAllowed,
                $"Worker '{command.WorkerId}' cannot take the task (unknown, off duty or at capacity)", "workerId");
        }

        await CommitAsync();
    });

    public Task<IncidentView> AcknowledgeAsync(ActorCommand command) =>
        WorkerStep(IncidentEventKind.TaskAcknowledged, command, reasonRequired: false);

    public Task<IncidentView> StartAsync(ActorCommand command) =>
        WorkerStep(IncidentEventKind.WorkStarted, command, reasonRequired: false);

    public Task<IncidentView> ResolveAsync(ActorCommand command) => WorkerStep(IncidentEventKind.Resolved, command, reasonRequired: false,
        until: () => deadlines.Due(_now, Category.VerifyLimit, S.R.Severity));

    public Task<IncidentView> DeclineAsync(ActorCommand command) =>
        WorkerStep(IncidentEventKind.TaskDeclined, command, reasonRequired: false, reroute: true);

    public Task<IncidentView> HandBackAsync(ActorCommand command) =>
        WorkerStep(IncidentEventKind.HandedBack, command, reasonRequired: true, reroute: true);

    public Task<IncidentView> VerifyAsync(ActorCommand command) =>
        Step(IncidentEventKind.Verified, command, reasonRequired: false, until: () => _now + _o.RatingWindow);

    public Task<IncidentView> ReworkAsync(ActorCommand command) => Step(IncidentEventKind.ReturnedForRework, command, reasonRequired: true,
        until: () => deadlines.HandleDue(_now, Category, S.R.Severity, S.Level, Policy));

    public Task<IncidentView> CloseAsync(ActorCommand command) => Step(IncidentEventKind.Closed, command, reasonRequired: false);

    public Task<IncidentView> CancelAsync(ActorCommand command) => Step(IncidentEventKind.Cancelled, command, reasonRequired: true);

    public Task<IncidentView> RateAsync(RateCommand command) => Run(async () =>
    {
        RequireActor(new ActorCommand(command.Actor));
        Expect(IncidentEventKind.Rated);
        if (command.Stars is < 1 or > 5)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Stars must be from 1 to 5", "stars");
        }

        // The reporter rates; only an incident without one (hotline, patrol, sensor) is rated by a supervisor for the resident.
        var reporter = S.R.Reporter?.Id is { Length: > 0 } id ? id : null;
        var byReporter = reporter is not null && reporter == command.Actor;
        if (reporter is not null && !byReporter)
        {
            throw new DomainException(DomainErrors.NotAllowed, "Only the reporter may rate this incident", "actor");
        }

        if (reporter is null && !command.OnBehalfOfReporter)
        {
            throw new DomainException(DomainErrors.NotAllowed,
                "This incident has no reporter to rate it: a supervisor may record the resident's rating on their behalf", "actor");
        }

        var stamp = byReporter ? command.Comment
            : command.Comment is { Length: > 0 } comment ? $"recorded on behalf of the reporter: {comment}" : "recorded on behalf of the reporter";
        Emit(IncidentEventKind.Rated, command.Actor, stamp, stars: command.Stars);
        if (_o.ArchiveAfterRating)
        {
            Emit(IncidentEventKind.Closed, SystemActor, "archived after rating");
        }

        await CommitAsync();
    });

    public Task<IncidentView> DeferAsync(DeferCommand command) => Run(async () =>
    {
        RequireActor(new ActorCommand(command.Actor, command.Reason), reasonRequired: true);
        Expect(IncidentEventKind.Deferred);
        if (command.Until is { } until && until <= _now)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A deferral must end in the future", "until");
        }

        Emit(IncidentEventKind.Deferred, command.Actor, command.Reason, until: command.Until);
        await CommitAsync();
    });

    public Task<IncidentView> ResumeAsync(ActorCommand command) => Run(async () =>
    {
        RequireActor(command);
        Expect(IncidentEventKind.Resumed);
        var deferredAt = S.Timeline.Last(e => e.Kind == IncidentEventKind.Deferred).At;
        var due = S.HandleDueWhenDeferred is { } handleDue
            ? deadlines.Resume(_now, deadlines.Remaining(deferredAt, handleDue, S.R.Severity), S.R.Severity)
            : deadlines.HandleDue(_now, Category, S.R.Severity, S.Level, Policy);
        Emit(IncidentEventKind.Resumed, command.Actor, command.Reason, until: due);
        await RouteAsync();
    });

    public Task<IncidentView> EscalateAsync(ActorCommand command) => Run(async () =>
    {
        RequireActor(command, reasonRequired: true);
        Expect(IncidentEventKind.Escalated);
        if (S.Level == RegionLevel.City)
        {
            throw new DomainException(DomainErrors.IllegalTransition, "The incident is already at city level; there is no level above");
        }

        EscalateOneLevel(command.Actor, command.Reason!);
        await RouteAsync();
    });

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
                if (outcome.Assignee is not { Kind: AssigneeKind.Worker } to || !await OfferAsync(to.Id, outcome.OverloadedAt))
                {
                    return;
                }

                Emit(IncidentEventKind.Reassigned, SystemActor,
                    $"moved off {move.WorkerId} ({move.Reason}) to {to.Id}, {outcome.Note ?? $"picked by {outcome.Level} {outcome.Code}"}",
                    level: S.Level, unit: outcome.Code, assignee: to, until: _now + AcceptanceWindow);
                await CommitAsync();
            });
        }
        catch (Exception ex)
        {
            LogMoveFailed(ex, Id, move.WorkerId);
        }
    }

    public Task<IncidentView> CheckDeadlinesAsync() => Run(async () =>
    {
        var now = _now;
        foreach (var (kind, due) in S.Deadlines.OrderBy(d => d.Value).ToList())
        {
            if (due > now || !S.Deadlines.TryGetValue(kind, out var current) || current != due)
            {
                continue;
            }

            await OnDeadlineAsync(kind, due);
        }

        await CommitAsync();
    });

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!S.Exists || S.Deadlines.Count == 0)
        {
            await UnregisterReminderAsync();
            return;
        }

        await CheckDeadlinesAsync();
    }

    private async Task OnDeadlineAsync(DeadlineKind kind, DateTimeOffset due)
    {
        switch (kind)
        {
            case DeadlineKind.TaskAcceptance when S.State == IncidentState.Dispatched && !S.Acknowledged:
                Emit(IncidentEventKind.AcceptanceTimedOut, SystemActor, $"{S.Assignee} did not acknowledge by {due:u}");
                await RouteAsync();
                break;
            case DeadlineKind.Handle when S.State is IncidentState.Accepted or IncidentState.Dispatched or IncidentState.InProgress:
                Emit(IncidentEventKind.DeadlineMissed, SystemActor, $"{S.Level} {S.LevelCode} did not resolve it by {due:u}",
                    level: S.Level, unit: S.LevelCode, deadline: kind);
                LogDeadlineMissed(Id, S.Level, S.LevelCode);
                if (S.Level < RegionLevel.City)
                {
                    EscalateOneLevel(SystemActor, "handling deadline passed");
                    await RouteAsync();
                }

                break;
            case DeadlineKind.Accept when S.State == IncidentState.Reported:
            case DeadlineKind.Verify when S.State == IncidentState.Resolved:
                Emit(IncidentEventKind.DeadlineMissed, SystemActor, $"{kind} deadline passed at {due:u}", deadline: kind);
                break;
            case DeadlineKind.Rating when S.State == IncidentState.Verified:
                Emit(IncidentEventKind.Closed, SystemActor, "archived unrated: the rating window passed");
                break;
            case DeadlineKind.RouteRetry:
                S.Deadlines.Remove(kind);
                _dirty = true;
                if (S.State == IncidentState.Accepted && S.Assignee is null && S.QueuedAt is null)
                {
                    await RouteAsync();
                }

                break;
            default:
                // A deadline whose step is over (kept by an older version of the rules): drop it.
                S.Deadlines.Remove(kind);
                _dirty = true;
                break;
        }
    }

    private Task<IncidentView> WorkerStep(IncidentEventKind kind, ActorCommand command, bool reasonRequired,
        Func<DateTimeOffset>? until = null, bool reroute = false) => Run(async () =>
    {
        RequireActor(command, reasonRequired);
        if (!S.Exists)
        {
            throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");
        }

        // Who comes before what: a worker step by anyone but the assignee is refused as such, whatever the state (the
        // task may just have moved on), and the refusal changes nothing here (the API's audit log keeps it).
        RequireAssignee(command);
        Expect(kind);
        Emit(kind, command.Actor, command.Reason, until: until?.Invoke());
        if (reroute)
        {
            await RouteAsync();
        }
        else
        {
            await CommitAsync();
        }
    });

    private Task<IncidentView> Step(IncidentEventKind kind, ActorCommand command, bool reasonRequired, Func<DateTimeOffset>? until = null) =>
        Run(async () =>
        {
            RequireActor(command, reasonRequired);
            Expect(kind);
            Emit(kind, command.Actor, command.Reason, until: until?.Invoke());
            await CommitAsync();
        });

    /// <summary>
    /// A worker step comes from the assignee: the worker it is with, or an officer of the department it is with (the
    /// department the API verified from the caller's token travels in the command).
    /// </summary>
    private void RequireAssignee(ActorCommand command)
    {
        switch (S.Assignee)
        {
            case { Kind: AssigneeKind.Worker } worker when worker.Id != command.Actor:
                throw new DomainException(DomainErrors.NotAllowed, $"Only the assigned worker ({worker.Id}) may do this", "actor");
            case { Kind: AssigneeKind.Department } department when department.Id != command.Department:
                throw new DomainException(DomainErrors.NotAllowed, $"Only an officer of department {department.Id} may do this", "actor");
        }
    }

    /// <summary>
    /// A hand assignment goes to a worker who serves the unit the incident is at — one of their units lies in it or
    /// above it — or, where the mode dispatches from the pool, anywhere in the grid's street.
    /// </summary>
    private async Task RequireServesAsync(string workerId)
    {
        WorkerView worker;
        try
        {
            worker = await GrainFactory.GetGrain<IWorkerGrain>(workerId).GetAsync();
        }
        catch (DomainException e) when (e.Code == DomainErrors.NotFound)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"No worker '{workerId}'", "workerId");
        }

        var mode = await GrainFactory.GetGrain<IGridGrain>(S.R.GridCode).GetModeAsync();
        var pool = _o.PolicyFor(mode?.Mode ?? S.AcceptedMode).DispatchFromPool;
        var unit = pool && S.Level == RegionLevel.Grid ? RegionCode.AncestorAt(S.R.GridCode, RegionLevel.Street) : S.LevelCode;
        var units = worker.Profile.Units.IsDefault ? [] : worker.Profile.Units;
        if (!units.Any(u => u.StartsWith(unit, StringComparison.Ordinal) || unit.StartsWith(u, StringComparison.Ordinal)))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"Worker '{workerId}' does not serve {S.Level} {unit}, where the incident is", "workerId");
        }
    }

    private async Task AcceptAndRouteAsync(string actor, string? reason, Mode mode)
    {
        Emit(IncidentEventKind.Accepted, actor, mode == Mode.Emergency ? $"{reason} (emergency operation)" : reason,
            until: deadlines.HandleDue(_now, Category, S.R.Severity, RegionLevel.Grid, _o.PolicyFor(mode)), mode: mode);
        await RouteAsync();
    }

    private void EscalateOneLevel(string actor, string reason)
    {
        var next = S.Level + 1;
        Emit(IncidentEventKind.Escalated, actor, reason, level: next, unit: RegionCode.AncestorAt(S.R.GridCode, next),
            until: deadlines.HandleDue(_now, Category, S.R.Severity, next, Policy));
    }

    /// <summary>
    /// Finds a handler by asking the chain from the current level up. The incident is committed first with a retry
    /// deadline, so if the chain cannot be reached, or the silo dies mid-way, the reminder routes it again.
    /// </summary>
    private async Task RouteAsync()
    {
        S.Deadlines[DeadlineKind.RouteRetry] = _now + _o.RouteRetryDelay;
        _dirty = true;
        await CommitAsync();

        for (var attempt = 0; attempt < _o.MaxOfferAttempts; attempt++)
        {
            if (S.Level < RegionLevel.City && RefusalsAtLevel() is var refusals && refusals >= Policy.RefusalsBeforeEscalation)
            {
                EscalateOneLevel(SystemActor, $"refused {refusals} time(s) at {S.Level} {S.LevelCode}: the {S.AcceptedMode.ToString().ToLowerInvariant()} escalation threshold");
            }

            RouteOutcome outcome;
            try
            {
                var request = new RouteRequest(Id, S.R.Category, Category.Department, S.R.Severity, Weight, S.R.GridCode, [.. S.Excluded], []);
                outcome = await GrainFactory.GetRouteTarget(S.LevelCode).RouteAsync(request);
            }
            catch (Exception ex) when (ex is not DomainException)
            {
                LogRouteFailed(ex, Id, S.LevelCode);
                break;
            }

            foreach (var pass in outcome.Passes)
            {
                EscalateOneLevel(SystemActor, $"{pass.Level} {pass.Code} passed it up: {pass.Reason}");
            }

            if (outcome.Assignee is null)
            {
                Emit(IncidentEventKind.AwaitingAssignment, SystemActor, "no one at city level can take it: queued for a commander",
                    level: outcome.Level, unit: outcome.Code);
                break;
            }

            if (outcome.Assignee.Kind == AssigneeKind.Department)
            {
                Emit(IncidentEventKind.Dispatched, SystemActor, $"{outcome.Level} {outcome.Code} summoned department {outcome.Assignee.Id}",
                    level: outcome.Level, unit: outcome.Code, assignee: outcome.Assignee);
                break;
            }

            Emit(IncidentEventKind.Dispatched, SystemActor, outcome.Note is { } note ? $"picked by {outcome.Level} {outcome.Code}: {note}" : $"picked by {outcome.Level} {outcome.Code}", level: outcome.Level,
                unit: outcome.Code, assignee: outcome.Assignee, until: _now + AcceptanceWindow);
            if (await OfferAsync(outcome.Assignee.Id, outcome.OverloadedAt))
            {
                break;
            }

            Emit(IncidentEventKind.TaskDeclined, SystemActor, $"{outcome.Assignee} could not take the task (off duty, at capacity or unknown)");
        }

        if (S.State == IncidentState.Accepted && S.Assignee is null && S.QueuedAt is null)
        {
            S.Deadlines[DeadlineKind.RouteRetry] = _now + _o.RouteRetryDelay;
        }

        await CommitAsync();
    }

    /// <summary>Declines, acknowledgement timeouts and hand-backs since the incident reached its current level.</summary>
    private int RefusalsAtLevel()
    {
        var count = 0;
        for (var i = S.Timeline.Count - 1; i >= 0; i--)
        {
            var kind = S.Timeline[i].Kind;
            if (kind is IncidentEventKind.Escalated or IncidentEventKind.Accepted or IncidentEventKind.Resumed)
            {
                break;
            }

            if (kind is IncidentEventKind.TaskDeclined or IncidentEventKind.AcceptanceTimedOut or IncidentEventKind.HandedBack)
            {
                count++;
            }
        }

        return count;
    }

    private async Task<bool> OfferAsync(string workerId, double overloadedAt)
    {
        try
        {
            return await GrainFactory.GetGrain<IWorkerGrain>(workerId)
                .OfferAsync(new WorkerTaskUpdate(S.Summary(Id, _now), TaskStatus.Offered, Weight, overloadedAt));
        }
        catch (Exception ex) when (ex is not DomainException)
        {
            LogNotifyFailed(ex, Id, workerId);
            return false;
        }
    }

    private TimelineEntry Emit(IncidentEventKind kind, string actor, string? reason = null, RegionLevel? level = null, string? unit = null,
        Assignee? assignee = null, int? stars = null, DateTimeOffset? until = null, DeadlineKind? deadline = null, IncidentReport? report = null,
        Mode? mode = null)
    {
        var from = S.Exists ? S.State : IncidentState.Reported;
        var to = kind == IncidentEventKind.Reported && !S.Exists ? IncidentState.Reported : IncidentRules.Next(kind, from);
        var entry = new TimelineEntry(S.Timeline.Count + 1, _now, actor, kind, from, to, reason, level, unit, assignee, stars, until, deadline, report, mode);
        S.Apply(entry);
        _dirty = true;
        return entry;
    }

    private void Expect(IncidentEventKind kind)
    {
        if (!S.Exists)
        {
            throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");
        }

        IncidentRules.Next(kind, S.State);
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
        catch when (_dirty)
        {
            try
            {
                await store.ReadStateAsync();
            }
            catch
            {
                // Storage is away: drop this activation so uncommitted changes can never be served or written later.
                DeactivateOnIdle();
                throw;
            }

            _dirty = false;
            _logged = Math.Min(_logged, S.Timeline.Count);
            throw;
        }

        return View();
    }

    private async Task CommitAsync()
    {
        if (!_dirty)
        {
            return;
        }

        await SyncDeadlinesAsync();
        await store.WriteStateAsync();
        _dirty = false;
        LogNewEntries();
        await PublishAsync();
    }

    private void LogNewEntries()
    {
        if (S.Timeline.Count > _logged)
        {
            eventLog.Append(Id, S.Timeline.GetRange(_logged, S.Timeline.Count - _logged));
            _logged = S.Timeline.Count;
        }
    }

    /// <summary>Tells the grid, the workers and the queues what changed. Best effort: the incident is already stored.</summary>
    private async Task PublishAsync()
    {
        var summary = S.Summary(Id, clock.Now);
        try
        {
            await GrainFactory.GetGrain<IGridGrain>(S.R.GridCode).IncidentChangedAsync(summary);
            await GrainFactory.GetGrain<ILiveNotifierGrain>(0).PublishAsync(LiveUpdate.Of(summary, S.UpdatedAt));
        }
        catch (Exception ex)
        {
            LogNotifyFailed(ex, Id, S.R.GridCode);
        }

        var current = S.Assignee is { Kind: AssigneeKind.Worker } c ? c.Id : null;
        var previous = _publishedAssignee is { Kind: AssigneeKind.Worker } p ? p.Id : null;
        if (previous is not null && previous != current)
        {
            await TrackAsync(previous, summary, TaskStatus.Removed);
        }

        if (current is not null)
        {
            await TrackAsync(current, summary, TaskStatusOf(S));
        }

        if (_publishedQueue is { } queue && queue != S.QueuedAt)
        {
            try
            {
                await (RegionCode.IsValid(queue)
                    ? GrainFactory.GetRegion(queue).ReleaseAsync(Id)
                    : GrainFactory.GetGrain<IDepartmentGrain>(queue).ReleaseAsync(Id));
            }
            catch (Exception ex)
            {
                LogNotifyFailed(ex, Id, queue);
            }
        }

        _publishedAssignee = S.Assignee;
        _publishedQueue = S.QueuedAt;
    }

    private async Task TrackAsync(string workerId, IncidentSummary summary, TaskStatus status)
    {
        try
        {
            await GrainFactory.GetGrain<IWorkerGrain>(workerId).TrackAsync(new WorkerTaskUpdate(summary, status, Weight));
        }
        catch (Exception ex)
        {
            LogNotifyFailed(ex, Id, workerId);
        }
    }

    private static TaskStatus TaskStatusOf(IncidentRecord s) => s.State switch
    {
        IncidentState.Dispatched => s.Acknowledged ? TaskStatus.Acknowledged : TaskStatus.Offered,
        IncidentState.InProgress => TaskStatus.InProgress,
        IncidentState.Resolved or IncidentState.Verified or IncidentState.Rated => TaskStatus.Resolved,
        IncidentState.Closed => TaskStatus.Closed,
        _ => TaskStatus.Removed,
    };

    /// <summary>
    /// Deadlines are durable reminders (1-minute resolution, survive restarts, may fire twice: handling is idempotent)
    /// plus, while the grain is active, a one-shot timer at the exact instant.
    /// </summary>
    private async Task SyncDeadlinesAsync()
    {
        ArmTimer();
        if (S.Deadlines.Count == 0)
        {
            await UnregisterReminderAsync();
            return;
        }

        var next = S.Deadlines.Values.Min();
        if (S.ReminderDueAt != next)
        {
            await this.RegisterOrUpdateReminder(ReminderName, DelayUntil(next), ReminderPeriod);
            S.ReminderDueAt = next;
        }
    }

    private async Task UnregisterReminderAsync()
    {
        if (S.ReminderDueAt is null)
        {
            return;
        }

        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        S.ReminderDueAt = null;
    }

    private void ArmTimer()
    {
        _timer?.Dispose();
        _timer = null;
        if (S.Deadlines.Count == 0)
        {
            return;
        }

        var delay = DelayUntil(S.Deadlines.Values.Min());
        _timer = this.RegisterGrainTimer(static (self, _) => self.OnTimerAsync(), this,
            new GrainTimerCreationOptions(delay < MaxTimerDelay ? delay : MaxTimerDelay, Timeout.InfiniteTimeSpan));
    }

    private async Task OnTimerAsync()
    {
        try
        {
            await CheckDeadlinesAsync();
        }
        catch (Exception ex)
        {
            LogDeadlineCheckFailed(ex, Id);
        }
    }

    private TimeSpan DelayUntil(DateTimeOffset at)
    {
        var delay = at - clock.Now;
        return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
    }

    private IncidentView View() => S.Exists
        ? S.View(Id, clock.Now, _contact)
        : throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");

    private static void ValidateContact(ReporterContact c)
    {
        foreach (var (value, field) in new[] { (c.Name, "reporter.name"), (c.Phone, "reporter.phone"), (c.Address, "reporter.address") })
        {
            if (value is { Length: > 200 })
            {
                throw new DomainException(DomainErrors.InvalidInput, $"'{field}' is longer than 200 characters", field);
            }
        }
    }

    private static void RequireActor(ActorCommand command, bool reasonRequired = false)
    {
        if (string.IsNullOrWhiteSpace(command.Actor) || command.Actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (reasonRequired && string.IsNullOrWhiteSpace(command.Reason))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason is required for this step", "reason");
        }

        if (command.Reason is { Length: > 4000 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The reason is longer than 4000 characters", "reason");
        }
    }

    private void ValidateReport(IncidentReport r)
    {
        if (!catalog.TryGet(r.Category, out _))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown category '{r.Category}'", "category");
        }

        if (!Enum.IsDefined(r.Severity))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown severity '{r.Severity}'", "severity");
        }

        if (!RegionCode.IsValid(r.GridCode, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "gridCode");
        }

        if (string.IsNullOrWhiteSpace(r.Description) || r.Description.Length > 4000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A description of 1–4000 characters is required", "description");
        }

        if (string.IsNullOrWhiteSpace(r.Source) || r.Source.Length > 64)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A source of 1–64 characters is required", "source");
        }

        if (r.ExternalId is { Length: > 128 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The external id is longer than 128 characters", "externalId");
        }

        if (r.Location is { IsValid: false })
        {
            throw new DomainException(DomainErrors.InvalidInput, "Latitude must be within ±90 and longitude within ±180", "location");
        }

        RequireActor(new ActorCommand(r.Actor));
    }

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
