using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>
/// One grid worker: tasks, status, location and load. Keyed by worker id.
/// The worker reports its load and status to the units it serves (one-way, so no call cycle with them);
/// task transitions are driven by the incident, which checks that the acting worker is its assignee.
/// </summary>
[Alias("GridDispatch.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Creates or updates the worker and joins the rosters of its units.</summary>
    [Alias("Register")] Task<WorkerView> RegisterAsync(WorkerProfile profile);

    /// <summary>Registers the worker only if it has no profile yet (a start-up load never overwrites a stored worker); true when it did.</summary>
    [Alias("RegisterIfNew")] Task<bool> RegisterIfNewAsync(WorkerProfile profile);

    [Alias("Get")] Task<WorkerView> GetAsync();

    /// <summary>
    /// The worker's profile, or null when no worker has this id: a probe that does not throw (a surge checks every new
    /// id this way, and an exception per new worker was 16% of a 580,000-worker surge's CPU).
    /// </summary>
    [Alias("Profile")] Task<WorkerProfile?> ProfileAsync();

    [Alias("SetStatus")] Task<WorkerView> SetStatusAsync(WorkerStatus status);

    [Alias("SetLocation")] Task<WorkerView> SetLocationAsync(GeoPoint location);

    /// <summary>An incident offers the worker a task; false when the worker cannot take it now (off duty, full, unregistered).</summary>
    [Alias("Offer")] Task<bool> OfferAsync(WorkerTaskUpdate offer);

    /// <summary>The incident reports the task's new status (and KPI facts).</summary>
    [Alias("Track")] Task TrackAsync(WorkerTaskUpdate update);

    /// <summary>A grid assigned, moved, started or finished campaign tasks of this worker. One-way: grids never wait on workers.</summary>
    [OneWay, Alias("SweepTasksChanged")] Task SweepTasksChangedAsync(ImmutableArray<WorkerTask> tasks);

    /// <summary>
    /// The worker is over its overload line (or off duty): ask the incidents of unstarted tasks to move off it until the
    /// load is down to <see cref="ShedRequest.TargetLoad"/>. One-way; each incident decides for itself.
    /// </summary>
    [OneWay, Alias("Shed")] Task ShedAsync(ShedRequest request);

    /// <summary>A temporary worker is released at stand-down: off duty, out of every roster and pool, unstarted work moved off.</summary>
    [Alias("Release")] Task<WorkerView> ReleaseAsync(string reason);
}

/// <summary>A grid, region or department that keeps a roster of workers and their live load.</summary>
[Alias("GridDispatch.IRosterHolder")]
public interface IRosterHolder : IGrainWithStringKey
{
    [Alias("JoinRoster")] Task JoinRosterAsync(RosterEntry entry);

    [Alias("LeaveRoster")] Task LeaveRosterAsync(string workerId);

    /// <summary>Newer load or status of a roster member. One-way: workers never wait on their units.</summary>
    [OneWay, Alias("WorkerChanged")] Task WorkerChangedAsync(RosterEntry entry);
}

/// <summary>A link of the escalation chain: handle the incident here, or pass it up.</summary>
[Alias("GridDispatch.IRouteTarget")]
public interface IRouteTarget : IGrainWithStringKey
{
    [Alias("Route")] Task<RouteOutcome> RouteAsync(RouteRequest request);
}
