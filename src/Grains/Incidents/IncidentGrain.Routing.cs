namespace GridDispatch.Incidents;

/// <summary>Routing: asking the chain for a handler from the current level up, escalating past levels that pass, offering to the worker chosen.</summary>
public sealed partial class IncidentGrain
{
    /// <summary>
    /// An accepted incident that nobody holds and no queue lists was being routed when its last activation ended: the
    /// retry deadline (bookkeeping, not a fact of the timeline) is set again from its last entry, so it is routed anew.
    /// </summary>
    private void ResumeRouting()
    {
        if (S.State == IncidentState.Accepted && S.Assignee is null && S.QueuedAt is null && !S.Deadlines.ContainsKey(DeadlineKind.RouteRetry))
        {
            S.Deadlines[DeadlineKind.RouteRetry] = S.UpdatedAt + _o.RouteRetryDelay;
        }
    }

    /// <summary>
    /// A hand assignment goes to a worker who serves the unit the incident is at — one of their units lies in it or
    /// above it — or, where the mode dispatches from the pool, anywhere in the grid's street; and who can take it now
    /// (on duty, below the overload line with it), checked before anything is stored.
    /// </summary>
    private async Task RequireServesAsync(string workerId, double overloadedAt)
    {
        WorkerView worker;
        try
        {
            worker = await GrainFactory.Reference<IWorkerGrain>(workerId).GetAsync();
        }
        catch (DomainException e) when (e.Code == DomainErrors.NotFound)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"No worker '{workerId}'", "workerId");
        }

        var mode = await GrainFactory.Reference<IGridGrain>(S.R.GridCode).GetModeAsync();
        var pool = _o.PolicyFor(mode?.Mode ?? S.AcceptedMode).DispatchFromPool;
        var unit = pool && S.Level == RegionLevel.Grid ? RegionCode.AncestorAt(S.R.GridCode, RegionLevel.Street) : S.LevelCode;
        var units = worker.Profile.Units.IsDefault ? [] : worker.Profile.Units;
        if (!units.Any(u => u.StartsWith(unit, StringComparison.Ordinal) || unit.StartsWith(u, StringComparison.Ordinal)))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"Worker '{workerId}' does not serve {S.Level} {unit}, where the incident is", "workerId");
        }

        if (worker.Status == WorkerStatus.OffDuty || worker.Load + Weight > worker.Capacity * overloadedAt)
        {
            throw new DomainException(DomainErrors.NotAllowed,
                $"Worker '{workerId}' cannot take the task (unknown, off duty or at capacity)", "workerId");
        }
    }

    private async Task AcceptAndRouteAsync(string actor, string? reason, Mode mode)
    {
        Emit(IncidentEventKind.Accepted, actor, mode == Mode.Emergency ? $"{reason} (emergency operation)" : reason,
            until: deadlines.HandleDue(_now, Category, S.R.Severity, RegionLevel.Grid, _o.PolicyFor(mode)), mode: mode);
        await RouteAsync();
    }

    private void EscalateOneLevel(string actor, string reason) => Record([_decider.Escalation(S, actor, reason, _now)]);

    /// <summary>
    /// Finds a handler by asking the chain from the current level up, and stores the outcome before anyone hears of it:
    /// the worker is offered the task only once its dispatch is committed, and a worker who refuses the offer (off
    /// duty or full since the grid last heard) has declined it, so the next pick follows. If the chain cannot be
    /// reached the incident is stored as accepted with a routing retry deadline; if the silo dies mid-way nothing of
    /// the command was stored, and its caller (or the deadline that started it) tries again.
    /// </summary>
    private async Task RouteAsync()
    {
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
            _offer = (outcome.Assignee.Id, outcome.OverloadedAt);
            if (!await CommitAsync())
            {
                return;     // offered (or not heard yet: the acceptance deadline covers a worker who never hears)
            }

            Emit(IncidentEventKind.TaskDeclined, SystemActor, $"{outcome.Assignee} could not take the task (off duty, at capacity or unknown)");
        }

        if (S.State == IncidentState.Accepted && S.Assignee is null && S.QueuedAt is null)
        {
            S.Deadlines[DeadlineKind.RouteRetry] = _now + _o.RouteRetryDelay;
            _dirty = true;
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
}
