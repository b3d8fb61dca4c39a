using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Workers;

/// <summary>The worker's write-behind snapshot: stored after changes and at deactivation, checked after a crash.</summary>
public sealed partial class WorkerGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (store.RecordExists && !S.Clean && S.Tasks.Count > 0 && await ReconcileAsync())
        {
            await ChangedAsync();   // its units and pools still count the dropped tasks in its load: tell them (one-way)
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_report is not null)
        {
            _report.Dispose();
            _report = null;
            Report();   // the last changes still reach the units
        }

        _flush?.Dispose();
        if (!store.RecordExists || (S.Clean && _flush is null))
        {
            return; // nothing of this activation is unstored
        }

        try
        {
            S.Clean = true;
            await store.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            LogFlushFailed(ex, Id);
        }
    }

    /// <summary>
    /// The snapshot may be behind (its last activation crashed before a flush): each incident task is read back from
    /// the incident's timeline and dropped if the incident is over or no longer this worker's. (Tasks gained after the
    /// last flush are not found here; the incident tells the worker again at its next change, and an unacknowledged
    /// offer moves on at its deadline.) A timeline that cannot be read, or is empty, leaves its task as it is.
    /// </summary>
    /// <returns>Whether a task was dropped.</returns>
    private async Task<bool> ReconcileAsync()
    {
        var dropped = false;
        foreach (var task in S.Tasks.Values.Where(t => t.Campaign is null).ToList())
        {
            try
            {
                var timeline = await incidents.ReadAsync(task.IncidentId);
                if (timeline.Count == 0)
                {
                    continue;
                }

                var incident = new Incidents.IncidentRecord();
                foreach (var entry in timeline)
                {
                    incident.Apply(entry);
                }

                if (Incidents.IncidentRules.IsTerminal(incident.State) || incident.Assignee is not { Kind: AssigneeKind.Worker } a || a.Id != Id)
                {
                    S.Tasks.Remove(task.IncidentId);
                    S.Kpi.Forget(task.IncidentId);
                    LogReconciled(Id, task.IncidentId, incident.State);
                    dropped = true;
                }
            }
            catch (Exception ex) when (ex is StoreUnavailableException or DomainException)
            {
                LogFlushFailed(ex, Id);
            }
        }

        return dropped;
    }

    /// <summary>Stores a change of tasks or status write-behind (see the class remarks).</summary>
    private async Task StoreLaterAsync()
    {
        S.Version++;
        if (S.Clean || !store.RecordExists)
        {
            // The stored copy says clean (or there is none): it must say otherwise before anything goes unstored.
            S.Clean = false;
            try
            {
                await store.WriteStateAsync();
            }
            catch
            {
                S.Clean = store.RecordExists; // still clean as stored: the next change tries again
                throw;
            }

            return;
        }

        _flush ??= ScheduleFlush();
    }

    private IGrainTimer ScheduleFlush() => this.RegisterGrainTimer(static (self, _) => self.FlushAsync(), this,
        new GrainTimerCreationOptions(options.Value.WorkerFlushInterval, Timeout.InfiniteTimeSpan));

    private async Task FlushAsync()
    {
        _flush?.Dispose();
        _flush = null;
        try
        {
            await store.WriteStateAsync();
        }
        catch (Exception ex) when (this.EndsActivation(ex))
        {
            LogStale(Id);   // the next activation reads the newer copy and checks its tasks against their incidents
        }
        catch (Exception ex)
        {
            LogFlushFailed(ex, Id);
            _flush = ScheduleFlush();
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Worker {WorkerId} could not store or check its snapshot; it tries again")]
    private partial void LogFlushFailed(Exception ex, string workerId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Worker {WorkerId}'s snapshot was written by another activation; this one ends")]
    private partial void LogStale(string workerId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Worker {WorkerId} dropped task {IncidentId} from a snapshot left by a crash: the incident is {State} and not its")]
    private partial void LogReconciled(string workerId, string incidentId, IncidentState state);
}
