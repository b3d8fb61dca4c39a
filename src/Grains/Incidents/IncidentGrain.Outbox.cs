using GridDispatch.Domain;

namespace GridDispatch.Incidents;

/// <summary>
/// The outbox: who must hear of a commit is decided before it, and told after it is stored — the grid (its summary),
/// the worker who holds the task (the offer, then each status), workers who lost it, the queue it joined or left. What
/// is said is the incident as it is at the time of telling, so a repeated or late tell says nothing stale, and every
/// receiver takes a repeat as a no-op. A tell that fails stays in the outbox and is sent again.
/// <para>
/// News that must not be lost — a former worker losing the task, a queue gaining or losing it, the grid of a finished
/// incident — also sets the <see cref="DeadlineKind.Tell"/> deadline, which the commit writes as the next due time: if
/// the silo dies before telling, the sweeper wakes the incident, which tells again everything its timeline implies.
/// When all was heard the deadline goes; only an open incident whose real next deadline then differs from the one
/// stored records it again (a <see cref="IncidentEventKind.Rescheduled"/> entry).
/// </para>
/// </summary>
public sealed partial class IncidentGrain
{
    /// <summary>An activation this soon after the last entry may follow a crash that lost tells: it tells everything again.</summary>
    private static readonly TimeSpan TellHorizon = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan MaxTellBackoff = TimeSpan.FromMinutes(5);

    private readonly HashSet<(TellTo To, string Target)> _unheard = [];
    private (string WorkerId, double OverloadedAt)? _offer;
    private TimeSpan _tellBackoff;

    private enum TellTo { Grid, Worker, Queue }

    /// <summary>
    /// At activation: after a crash shortly after a commit, or when the last entry moved a tell's retry (it was not heard
    /// then), tell all the timeline implies.
    /// </summary>
    private void TellAgainIfRecent()
    {
        if (S.Exists && (clock.Now - S.UpdatedAt <= TellHorizon || S.Timeline[^1] is { Kind: IncidentEventKind.Rescheduled, Deadline: DeadlineKind.Tell }))
        {
            TellEverything();
        }
    }

    /// <summary>
    /// Puts every grid, worker and queue the timeline ever named in the outbox, due at once; the store's due time
    /// (possibly that of the lost tells) is recorded afresh after.
    /// </summary>
    private void TellEverything()
    {
        _unheard.Add((TellTo.Grid, S.R.GridCode));
        foreach (var e in S.Timeline)
        {
            if (e.Assignee is { Kind: AssigneeKind.Worker } w)
            {
                _unheard.Add((TellTo.Worker, w.Id));
            }

            if (e.Kind == IncidentEventKind.AwaitingAssignment && e.UnitCode is { } unit)
            {
                _unheard.Add((TellTo.Queue, unit));
            }
            else if (e.Assignee is { Kind: AssigneeKind.Department } d)
            {
                _unheard.Add((TellTo.Queue, d.Id));
            }
        }

        // What the store holds as due is known (read at activation, or written by this activation's appends), so once
        // all is heard the next deadline is recorded again only if it differs. An incident with nothing read from the
        // store since its legacy snapshot does not know: it records it.
        if (!_recordedDueExact)
        {
            _recordedDue = null;
        }

        S.Deadlines[DeadlineKind.Tell] = clock.Now;
    }

    /// <summary>
    /// Before a commit: who is to hear of it. The targets join the outbox only once the commit is stored; news that must
    /// not be lost arms the tell deadline, which the commit stores as the next due time.
    /// </summary>
    private List<(TellTo To, string Target)> PlanTells()
    {
        var plan = new List<(TellTo, string)>();
        var terminal = IncidentRules.IsTerminal(S.State);
        if (terminal && _publishedTerminal)
        {
            return plan;    // a finished incident's facts no longer change (an erasure records only that it happened)
        }

        var must = terminal;
        plan.Add((TellTo.Grid, S.R.GridCode));
        var current = S.Assignee is { Kind: AssigneeKind.Worker } c ? c.Id : null;
        var previous = _publishedAssignee is { Kind: AssigneeKind.Worker } p ? p.Id : null;
        if (previous is not null && previous != current)
        {
            plan.Add((TellTo.Worker, previous));
            must = true;
        }

        if (current is not null)
        {
            plan.Add((TellTo.Worker, current));
        }

        if (_publishedQueue != S.QueuedAt)
        {
            foreach (var queue in new[] { _publishedQueue, S.QueuedAt })
            {
                if (queue is not null)
                {
                    plan.Add((TellTo.Queue, queue));
                    must = true;
                }
            }
        }

        if (must)
        {
            _tellBackoff = _o.TellRetryDelay;
            S.Deadlines[DeadlineKind.Tell] = _now + _tellBackoff;
        }

        return plan;
    }

    /// <summary>After a commit: the planned targets join the outbox and all of it is told. True when a new offer was refused.</summary>
    private async Task<bool> PublishAsync(List<(TellTo To, string Target)> plan)
    {
        if (plan.Count == 0 && _unheard.Count == 0)
        {
            return false;
        }

        _unheard.UnionWith(plan);
        _publishedTerminal = IncidentRules.IsTerminal(S.State);
        _publishedAssignee = S.Assignee;
        _publishedQueue = S.QueuedAt;
        var summary = S.Summary(Id, clock.Now);
        if (plan.Count > 0)
        {
            live.Publish(LiveUpdate.Of(summary, S.UpdatedAt));   // live screens: best effort
        }

        return await TellAsync(summary);
    }

    /// <summary>Sends everything the outbox holds, all at once; what is heard leaves it. True when a new offer was refused.</summary>
    private async Task<bool> TellAsync(IncidentSummary summary)
    {
        var refused = false;
        var sends = new List<Task>(_unheard.Count);
        foreach (var tell in _unheard.ToList())
        {
            sends.Add(SendAsync(tell));
        }

        await Task.WhenAll(sends);
        return refused;

        async Task SendAsync((TellTo To, string Target) tell)
        {
            try
            {
                if (await SendOneAsync(tell, summary) == false)
                {
                    refused = true;
                }

                _unheard.Remove(tell);
            }
            catch (Exception ex)
            {
                LogNotifyFailed(ex, Id, tell.Target);
            }
        }
    }

    /// <summary>One tell; for a new offer, whether the worker took it.</summary>
    private async Task<bool?> SendOneAsync((TellTo To, string Target) tell, IncidentSummary summary)
    {
        switch (tell.To)
        {
            case TellTo.Grid:
                await GrainFactory.Reference<IGridGrain>(tell.Target).IncidentChangedAsync(summary);
                return null;
            case TellTo.Worker:
                var worker = GrainFactory.Reference<IWorkerGrain>(tell.Target);
                var holds = S.Assignee is { Kind: AssigneeKind.Worker } a && a.Id == tell.Target;
                if (holds && _offer is { } offer && offer.WorkerId == tell.Target && S.State == IncidentState.Dispatched && !S.Acknowledged)
                {
                    // Cleared only once heard: a retry after a timeout asks again, with the worker's own check.
                    var taken = await worker.OfferAsync(new WorkerTaskUpdate(summary, TaskStatus.Offered, Weight, offer.OverloadedAt));
                    _offer = null;
                    return taken;
                }

                await worker.TrackAsync(new WorkerTaskUpdate(summary, holds ? TaskStatusOf(S) : TaskStatus.Removed, Weight));
                return null;
            default:
                var holding = tell.Target == S.QueuedAt;
                if (RegionCode.IsValid(tell.Target))
                {
                    var region = GrainFactory.GetRegion(tell.Target);
                    await (holding ? region.HoldAsync(Id) : region.ReleaseAsync(Id));
                }
                else
                {
                    var department = GrainFactory.Reference<IDepartmentGrain>(tell.Target);
                    await (holding ? department.HoldAsync(Id) : department.ReleaseAsync(Id));
                }

                return null;
        }
    }

    /// <summary>The tell deadline passed: tell again what was not heard, backing off while it is not.</summary>
    private async Task OnTellDueAsync()
    {
        if (_unheard.Count > 0)
        {
            await TellAsync(S.Summary(Id, _now));
        }

        if (_unheard.Count > 0)
        {
            _tellBackoff = _tellBackoff <= TimeSpan.Zero ? _o.TellRetryDelay
                : _tellBackoff * 2 < MaxTellBackoff ? _tellBackoff * 2 : MaxTellBackoff;
            S.Deadlines[DeadlineKind.Tell] = _now + _tellBackoff;
        }
        else
        {
            S.Deadlines.Remove(DeadlineKind.Tell);
        }

        _dirty = true;
    }

    private static TaskStatus TaskStatusOf(IncidentRecord s) => s.State switch
    {
        IncidentState.Dispatched => s.Acknowledged ? TaskStatus.Acknowledged : TaskStatus.Offered,
        IncidentState.InProgress => TaskStatus.InProgress,
        IncidentState.Resolved or IncidentState.Verified or IncidentState.Rated => TaskStatus.Resolved,
        IncidentState.Closed => TaskStatus.Closed,
        _ => TaskStatus.Removed,
    };
}
