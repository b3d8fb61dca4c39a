namespace GridDispatch.Incidents;

/// <summary>Telling others what a commit changed: the grid, the live notifier, the workers who gained or lost the task, the queue it left. Best effort: the incident is already stored.</summary>
public sealed partial class IncidentGrain
{
    /// <summary>Tells the grid, the workers and the queues what changed. Best effort: the incident is already stored.</summary>
    private async Task PublishAsync()
    {
        // A finished incident's facts no longer change (an erasure records only that it happened): nothing to tell.
        if (IncidentRules.IsTerminal(S.State) && _publishedTerminal)
        {
            return;
        }

        _publishedTerminal = IncidentRules.IsTerminal(S.State);
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
}
