using System.Collections.Immutable;
using System.Globalization;
using GridDispatch.Domain;

namespace GridDispatch.Regions;

/// <summary>One campaign's current round at one grid: a task per building or household.</summary>
[GenerateSerializer, Alias("GridDispatch.SweepCampaign")]
public sealed class SweepCampaign
{
    [Id(0)] public CampaignOrder Order { get; set; } = null!;
    [Id(1)] public List<SweepTask> Tasks { get; set; } = [];
    [Id(2)] public string? EndReason { get; set; }
    [Id(3)] public DateTimeOffset? EndedAt { get; set; }
}

[GenerateSerializer, Alias("GridDispatch.SweepTask")]
public sealed class SweepTask
{
    [Id(0)] public string Target { get; set; } = "";
    [Id(1)] public SweepTaskStatus Status { get; set; }
    [Id(2)] public string? WorkerId { get; set; }
    [Id(3)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(4)] public string? Note { get; set; }
    [Id(5)] public List<SweepTaskEntry> History { get; set; } = [];
    [Id(6)] public int Findings { get; set; }
    [Id(7)] public PhotoList? Photos { get; set; }

    public bool Movable => Status == SweepTaskStatus.Assigned;

    public bool IsOpen => Status is SweepTaskStatus.Pending or SweepTaskStatus.Assigned or SweepTaskStatus.InProgress;
}

/// <summary>
/// The grid's side of campaigns and of live load balancing, kept apart from routing. The grid is the single owner of its
/// campaign tasks: assignment, every move between workers, start and result happen here one at a time, so a task can
/// neither be lost nor done twice; workers only mirror what the grid tells them (one-way).
/// </summary>
public sealed class GridCampaigns(string gridCode, Func<DateTimeOffset> now, int taskWeight)
{
    /// <summary>Task updates per worker, sent one-way after the grid's state change.</summary>
    public Dictionary<string, List<WorkerTask>> Outbox { get; } = new(StringComparer.Ordinal);

    /// <summary>Buildings B001… for a sweep, households H0001… for checks and deliveries.</summary>
    public static IEnumerable<string> Targets(CampaignKind kind, GridDefinition grid) => kind == CampaignKind.SweepBuildings
        ? Enumerable.Range(1, Math.Max(1, grid.Buildings)).Select(i => "B" + i.ToString("D3", CultureInfo.InvariantCulture))
        : Enumerable.Range(1, Math.Max(1, grid.Households)).Select(i => "H" + i.ToString("D4", CultureInfo.InvariantCulture));

    public SweepCampaign Start(CampaignOrder order, IReadOnlyList<string> targets, SweepCampaign? previous)
    {
        if (previous is not null)
        {
            Close(previous, $"replaced by round {order.Round}", includeStarted: true);
        }

        var issued = new SweepTaskEntry(order.IssuedAt, "system", $"issued: {order.Title}" + (order.Supplies is { Length: > 0 } supplies ? $" (deliver: {supplies})" : ""));
        return new SweepCampaign
        {
            Order = order,
            Tasks = [.. targets.Select(t => new SweepTask { Target = t, History = [issued] })],
        };
    }

    /// <summary>
    /// Closes every unstarted task with the reason; tasks in progress may still finish, unless a newer round replaces
    /// this one (<paramref name="includeStarted"/>), whose tasks take their place.
    /// </summary>
    public void Close(SweepCampaign campaign, string reason, bool includeStarted = false)
    {
        foreach (var task in campaign.Tasks.Where(t => t.Status is SweepTaskStatus.Pending or SweepTaskStatus.Assigned
            || (includeStarted && t.Status == SweepTaskStatus.InProgress)))
        {
            if (task.WorkerId is { } worker)
            {
                Send(worker, campaign, task, TaskStatus.Removed);
            }

            task.Status = SweepTaskStatus.Closed;
            task.Note = reason;
            task.History.Add(new SweepTaskEntry(now(), "system", $"closed: {reason}"));
        }

        campaign.EndReason ??= reason;
    }

    /// <summary>Gives pending tasks to the least-loaded eligible workers of the roster, within the mode's overload line.</summary>
    public int AssignPending(IEnumerable<SweepCampaign> campaigns, Roster roster, ModePolicy policy)
    {
        var assigned = 0;
        foreach (var campaign in campaigns)
        {
            foreach (var task in campaign.Tasks)
            {
                if (task.Status != SweepTaskStatus.Pending)
                {
                    continue;
                }

                if (Candidate(roster, policy, except: null, below: null) is not { } worker)
                {
                    return assigned;
                }

                task.Status = SweepTaskStatus.Assigned;
                task.WorkerId = worker.WorkerId;
                task.History.Add(new SweepTaskEntry(now(), "system", $"assigned to {worker.WorkerId}"));
                roster.Reserve(worker.WorkerId, taskWeight);
                Send(worker.WorkerId, campaign, task, TaskStatus.Offered);
                assigned++;
            }
        }

        return assigned;
    }

    /// <summary>
    /// Moves unstarted tasks off workers over the mode's overload line (to a less-loaded eligible worker) and off workers
    /// who went off duty (to anyone eligible, else back to pending). Returns the workers still over their line.
    /// </summary>
    public List<(RosterEntry Worker, bool OffDuty)> Rebalance(IReadOnlyCollection<SweepCampaign> campaigns, Roster roster, ModePolicy policy)
    {
        var stillOver = new List<(RosterEntry, bool)>();
        foreach (var campaign in campaigns)
        {
            foreach (var task in campaign.Tasks.Where(t => t.Movable && !roster.Entries.ContainsKey(t.WorkerId!)))
            {
                Send(task.WorkerId!, campaign, task, TaskStatus.Removed);
                task.History.Add(new SweepTaskEntry(now(), "system", $"returned to pending: {task.WorkerId} left the grid"));
                task.Status = SweepTaskStatus.Pending;
                task.WorkerId = null;
            }
        }

        foreach (var source in roster.Entries.Values.ToList())
        {
            var offDuty = !source.OnDuty;
            if (!offDuty && source.Load <= source.Capacity * policy.OverloadedAt)
            {
                continue;
            }

            var reason = offDuty ? "went off duty" : $"overloaded ({source.Load} of capacity {source.Capacity})";
            foreach (var (campaign, task) in campaigns.SelectMany(c => c.Tasks.Where(t => t.Movable && t.WorkerId == source.WorkerId).Select(t => (c, t))).Reverse().ToList())
            {
                var current = roster.Entries[source.WorkerId];
                if (!offDuty && current.Load <= current.Capacity * policy.OverloadedAt)
                {
                    break;
                }

                var utilisation = (double)current.Load / current.Capacity;
                var target = Candidate(roster, policy, except: source.WorkerId, below: offDuty ? null : utilisation);
                if (target is null && !offDuty)
                {
                    break;
                }

                Send(source.WorkerId, campaign, task, TaskStatus.Removed);
                roster.Reserve(source.WorkerId, -taskWeight);
                if (target is null)
                {
                    task.Status = SweepTaskStatus.Pending;
                    task.WorkerId = null;
                    task.History.Add(new SweepTaskEntry(now(), "system", $"returned to pending: {source.WorkerId} {reason}"));
                    continue;
                }

                task.WorkerId = target.WorkerId;
                task.History.Add(new SweepTaskEntry(now(), "system", $"moved from {source.WorkerId} to {target.WorkerId}: {source.WorkerId} {reason}"));
                roster.Reserve(target.WorkerId, taskWeight);
                Send(target.WorkerId, campaign, task, TaskStatus.Offered);
            }

            var after = roster.Entries[source.WorkerId];
            if ((offDuty && after.Load > 0) || (!offDuty && after.Load > after.Capacity * policy.OverloadedAt))
            {
                stillOver.Add((after, offDuty));
            }
        }

        return stillOver;
    }

    public void Send(string worker, SweepCampaign campaign, SweepTask task, TaskStatus status)
    {
        if (!Outbox.TryGetValue(worker, out var list))
        {
            Outbox[worker] = list = [];
        }

        var o = campaign.Order;
        list.Add(new WorkerTask(CampaignTasks.Id(o.CampaignId, o.Round, gridCode, task.Target), "campaign", Severity.Routine, status, taskWeight,
            task.IsOpen && now() > o.DueAt, o.CampaignId));
    }

    public CampaignProgress Progress(SweepCampaign campaign)
    {
        var o = campaign.Order;
        int pending = 0, assigned = 0, inProgress = 0, done = 0, unreachable = 0, closed = 0, overdue = 0, findings = 0, responses = 0;
        long seconds = 0;
        var late = now() > o.DueAt;
        foreach (var t in campaign.Tasks)
        {
            switch (t.Status)
            {
                case SweepTaskStatus.Pending: pending++; break;
                case SweepTaskStatus.Assigned: assigned++; break;
                case SweepTaskStatus.InProgress: inProgress++; break;
                case SweepTaskStatus.Done: done++; break;
                case SweepTaskStatus.NotReachable: unreachable++; break;
                default: closed++; break;
            }

            if (late && t.IsOpen)
            {
                overdue++;
            }

            if (t.FinishedAt is { } finished && t.Status is SweepTaskStatus.Done or SweepTaskStatus.NotReachable)
            {
                seconds += (long)(finished - o.IssuedAt).TotalSeconds;
                responses++;
            }

            findings += t.Findings;
        }

        return new CampaignProgress(o.Round, campaign.Tasks.Count, pending, assigned, inProgress, done, unreachable, closed, overdue,
            findings, seconds, responses, 1);
    }

    public SweepTaskView View(SweepCampaign campaign, SweepTask task)
    {
        var o = campaign.Order;
        return new SweepTaskView(CampaignTasks.Id(o.CampaignId, o.Round, gridCode, task.Target), o.CampaignId, o.Round, gridCode, task.Target,
            task.Status, task.WorkerId, o.DueAt, task.Note, [.. task.History], task.Photos);
    }

    public ImmutableArray<UncoveredTarget> Uncovered(SweepCampaign campaign, int limit)
    {
        var o = campaign.Order;
        var late = now() > o.DueAt;
        return [.. campaign.Tasks.Where(t => t.Status != SweepTaskStatus.Done).Take(limit).Select(t =>
            new UncoveredTarget(CampaignTasks.Id(o.CampaignId, o.Round, gridCode, t.Target), gridCode, t.Target, t.Status, t.WorkerId, late && t.IsOpen, t.Note))];
    }

    /// <summary>The least-loaded on-duty eligible worker who stays within the line; for a move, also below the source.</summary>
    private RosterEntry? Candidate(Roster roster, ModePolicy policy, string? except, double? below) =>
        roster.Entries.Values
            .Where(e => e.OnDuty && e.Capacity > 0 && e.WorkerId != except && policy.MayDispatch(e.Kind)
                && e.Load + taskWeight <= e.Capacity * policy.OverloadedAt
                && (below is null || (double)(e.Load + taskWeight) / e.Capacity < below))
            .OrderBy(e => (double)e.Load / e.Capacity)
            .ThenBy(e => e.HomeUnit == gridCode ? 0 : 1)
            .ThenBy(e => e.WorkerId, StringComparer.Ordinal)
            .FirstOrDefault();
}
