using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Workers;

[GenerateSerializer, Alias("GridDispatch.WorkerRecord.v1")]
public sealed class WorkerRecord
{
    [Id(0)] public WorkerProfile? Profile { get; set; }
    [Id(1)] public WorkerStatus Status { get; set; }
    [Id(2)] public GeoPoint? Location { get; set; }
    [Id(3)] public Dictionary<string, WorkerTask> Tasks { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public KpiLedger Kpi { get; set; } = new();
    [Id(5)] public long Version { get; set; }
    /// <summary>When a temporary worker was released at stand-down.</summary>
    [Id(6)] public DateTimeOffset? ReleasedAt { get; set; }
    /// <summary>
    /// Written true only by a deactivation's final flush, false by the first change after it: a snapshot read back as
    /// not clean may lack the last changes of an activation that ended in a crash, so its tasks are checked against
    /// their incidents' timelines.
    /// </summary>
    [Id(7)] public bool Clean { get; set; }
}

/// <summary>
/// One grid worker. Load = open tasks (offered, acknowledged, in progress) weighted by severity. Every change of load
/// or status is reported one-way to the grids, regions and department the worker serves.
/// <para>
/// Its tasks and load follow from the open incidents, so they are a write-behind snapshot: a change is stored at most
/// <see cref="DispatchOptions.WorkerFlushInterval"/> later and when the grain deactivates, not on the request path
/// (the profile, location and release are stored before the call returns). The first change after a clean
/// deactivation is stored at once as "not clean"; a snapshot that reads back not clean is checked task by task
/// against the incidents' timelines (<see cref="ReconcileAsync"/>).
/// </para>
/// </summary>
public sealed partial class WorkerGrain(
    [PersistentState("worker", GridDispatchStorage.Name)] IPersistentState<WorkerRecord> store,
    EngineClock clock,
    IIncidentStore incidents,
    Live.LiveFeed live,
    Telemetry.EngineMetrics metrics,
    Microsoft.Extensions.Options.IOptions<DispatchOptions> options,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    private static readonly TimeSpan MoveRetry = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, DateTimeOffset> _moving = new(StringComparer.Ordinal);
    private IGrainTimer? _flush;
    private IGrainTimer? _report;
    private long _reportedAt;

    private WorkerRecord S => store.State;

    private string Id => this.GetPrimaryKeyString();

    private int Load => S.Tasks.Values.Where(t => IsOpen(t.Status)).Sum(t => t.Weight);

    public async Task<bool> RegisterIfNewAsync(WorkerProfile profile)
    {
        if (S.Profile is not null)
        {
            return false;
        }

        await RegisterAsync(profile);
        return true;
    }

    public async Task<WorkerView> RegisterAsync(WorkerProfile profile)
    {
        Validate(profile);
        var old = S.Profile;
        S.Profile = profile;
        S.ReleasedAt = null;
        if (old is null)
        {
            S.Status = profile.Status;
            S.Location = profile.Location;
        }

        S.Version++;
        await store.WriteStateAsync();

        var entry = Entry();
        var before = old is null ? [] : UnitsOf(old);
        var after = UnitsOf(profile);
        var failures = new List<Exception>();
        foreach (var unit in before.Except(after))
        {
            await Try(() => GrainFactory.GetRosterHolder(unit).LeaveRosterAsync(Id), failures);
        }

        foreach (var unit in after)
        {
            await Try(() => GrainFactory.GetRosterHolder(unit).JoinRosterAsync(entry), failures);
        }

        foreach (var pool in (old is null ? [] : PoolsOf(old)).Except(PoolsOf(profile)))
        {
            await Try(() => GrainFactory.GetRegion(pool).PoolChangedAsync(entry, member: false), failures);
        }

        foreach (var pool in PoolsOf(profile))
        {
            await Try(() => GrainFactory.GetRegion(pool).PoolChangedAsync(entry, member: true), failures);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException($"Worker {Id} is stored but could not join {failures.Count} of its units", failures);
        }

        return View();
    }

    public Task<WorkerView> GetAsync() => Task.FromResult(View());

    public Task<WorkerProfile?> ProfileAsync() => Task.FromResult(S.Profile);

    public async Task<WorkerView> SetStatusAsync(WorkerStatus status)
    {
        RequireRegistered();
        if (!Enum.IsDefined(status))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown status '{status}'", "status");
        }

        if (S.Status != status)
        {
            S.Status = status;
            await ChangedAsync();
            if (status == WorkerStatus.OffDuty)
            {
                await ShedAsync(new ShedRequest(0, "went off duty"));
            }
        }

        return View();
    }

    public async Task<WorkerView> SetLocationAsync(GeoPoint location)
    {
        RequireRegistered();
        if (!location.IsValid)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Latitude must be within ±90 and longitude within ±180", "location");
        }

        S.Location = location;
        S.Version++;
        await store.WriteStateAsync();
        return View();
    }

    public async Task<bool> OfferAsync(WorkerTaskUpdate offer)
    {
        var id = offer.Incident.Id;
        if (S.Tasks.TryGetValue(id, out var existing) && IsOpen(existing.Status))
        {
            await TrackAsync(offer);    // offered again (say after an escalation picked the same worker): the task as it is now
            return true;
        }

        if (S.Profile is null || S.Status == WorkerStatus.OffDuty || Load + offer.Weight > S.Profile.Capacity * offer.OverloadedAt)
        {
            return false;
        }

        S.Tasks[id] = ToTask(offer);
        S.Kpi.Record(id, offer.Incident.Facts, terminal: false);
        await ChangedAsync();
        return true;
    }

    /// <summary>The incident's word on the task, told after its commit and repeated until heard: a repeat changes nothing.</summary>
    public async Task TrackAsync(WorkerTaskUpdate update)
    {
        var id = update.Incident.Id;
        var known = S.Tasks.TryGetValue(id, out var existing);
        switch (update.Status)
        {
            case TaskStatus.Removed:
                if (!known)
                {
                    return;
                }

                S.Tasks.Remove(id);
                S.Kpi.Forget(id);
                break;
            case TaskStatus.Closed:
                if (!known && S.Kpi.FoldedIds.Contains(id))
                {
                    return;
                }

                S.Tasks.Remove(id);
                S.Kpi.Record(id, update.Incident.Facts, terminal: true);
                break;
            default:
                var task = ToTask(update);
                if (known && existing == task && S.Kpi.Open.TryGetValue(id, out var facts) && facts == update.Incident.Facts)
                {
                    return;
                }

                S.Tasks[id] = task;
                S.Kpi.Record(id, update.Incident.Facts, terminal: false);
                break;
        }

        await ChangedAsync();
    }

    public async Task SweepTasksChangedAsync(ImmutableArray<WorkerTask> tasks)
    {
        foreach (var task in tasks)
        {
            if (task.Status is TaskStatus.Closed or TaskStatus.Removed)
            {
                S.Tasks.Remove(task.IncidentId);
            }
            else
            {
                S.Tasks[task.IncidentId] = task;
            }
        }

        await ChangedAsync();
    }

    public Task ShedAsync(ShedRequest request)
    {
        if (S.Profile is null)
        {
            return Task.CompletedTask;
        }

        var offDuty = S.Status == WorkerStatus.OffDuty;
        var load = Load;
        var now = clock.Now;
        var unstarted = S.Tasks.Values
            .Where(t => t.Campaign is null && t.Status is TaskStatus.Offered or TaskStatus.Acknowledged)
            .OrderBy(t => t.Status).ThenBy(t => t.Severity).ThenBy(t => t.IncidentId, StringComparer.Ordinal);
        foreach (var task in unstarted)
        {
            if (load <= request.TargetLoad)
            {
                break;
            }

            if (_moving.TryGetValue(task.IncidentId, out var asked) && now - asked < MoveRetry)
            {
                continue;
            }

            _moving[task.IncidentId] = now;
            GrainFactory.Reference<IIncidentGrain>(task.IncidentId)
                .MoveOffAsync(new MoveOff(Id, request.Reason, offDuty ? 0 : (double)load / S.Profile.Capacity, offDuty)).Ignore();
            load -= task.Weight;
        }

        return Task.CompletedTask;
    }

    public async Task<WorkerView> ReleaseAsync(string reason)
    {
        RequireRegistered();
        if (S.ReleasedAt is not null)
        {
            return View();
        }

        S.ReleasedAt = clock.Now;
        S.Status = WorkerStatus.OffDuty;
        S.Version++;
        await store.WriteStateAsync();
        var entry = Entry();
        foreach (var unit in UnitsOf(S.Profile!))
        {
            await Try(() => GrainFactory.GetRosterHolder(unit).LeaveRosterAsync(Id), []);
        }

        foreach (var pool in PoolsOf(S.Profile!))
        {
            await Try(() => GrainFactory.GetRegion(pool).PoolChangedAsync(entry, member: false), []);
        }

        await ShedAsync(new ShedRequest(0, $"released: {reason}"));
        return View();
    }

    /// <summary>
    /// A change of load, tasks or status: stored write-behind, shown live, and reported to the worker's units and
    /// pools — at once, or with the next changes at the end of <see cref="DispatchOptions.WorkerReportInterval"/>.
    /// </summary>
    private async Task ChangedAsync()
    {
        await StoreLaterAsync();
        if (S.Profile is not { } p)
        {
            return;
        }

        var load = Load;
        metrics.WorkerLoad(load, p.Capacity);
        live.Publish(LiveUpdate.Of(new WorkerLoad(Id, p.Name, p.Kind, S.Status, load, p.Capacity, HomeUnitOf(p),
            S.Tasks.Values.Count(t => IsOpen(t.Status))), S.Version, clock.Now));
        if (_report is not null)
        {
            return;     // a report is due: it carries this change too
        }

        var quiet = System.Diagnostics.Stopwatch.GetElapsedTime(_reportedAt);
        var interval = options.Value.WorkerReportInterval;
        if (_reportedAt == 0 || quiet >= interval)
        {
            Report();
            return;
        }

        _report = this.RegisterGrainTimer(static (self, _) =>
        {
            self._report?.Dispose();
            self._report = null;
            self.Report();
            return Task.CompletedTask;
        }, this, new GrainTimerCreationOptions(interval - quiet, Timeout.InfiniteTimeSpan));
    }

    /// <summary>
    /// The worker's newest state to its units and pools, one-way: each report carries the worker's version, so a late
    /// one never overwrites a newer one. A released worker has left its pools and does not rejoin them by reporting.
    /// </summary>
    private void Report()
    {
        _reportedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        if (S.Profile is not { } p)
        {
            return;
        }

        var entry = Entry();
        foreach (var unit in UnitsOf(p))
        {
            GrainFactory.GetRosterHolder(unit).WorkerChangedAsync(entry).Ignore();
        }

        if (S.ReleasedAt is null)
        {
            foreach (var pool in PoolsOf(p))
            {
                GrainFactory.GetRegion(pool).PoolChangedAsync(entry, member: true).Ignore();
            }
        }
    }

    private RosterEntry Entry()
    {
        var p = S.Profile!;
        return new RosterEntry(Id, p.Kind, p.Categories, S.Status, Load, p.Capacity, HomeUnitOf(p), S.Version, p.Temporary);
    }

    private WorkerView View()
    {
        RequireRegistered();
        return new WorkerView(S.Profile!, S.Status, S.Location, Load, S.Profile!.Capacity,
            [.. S.Tasks.Values.OrderBy(t => t.IncidentId, StringComparer.Ordinal)], S.Kpi.Current(), S.Version, S.ReleasedAt);
    }

    private void RequireRegistered()
    {
        if (S.Profile is null)
        {
            throw new DomainException(DomainErrors.NotFound, $"No worker '{Id}'");
        }
    }

    private void Validate(WorkerProfile p)
    {
        if (p.Id != Id)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"The profile's id must be the key {Id}", "id");
        }

        if (string.IsNullOrWhiteSpace(p.Name) || p.Name.Length > 100)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A name of 1–100 characters is required", "name");
        }

        if (!Enum.IsDefined(p.Kind))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown kind '{p.Kind}'", "kind");
        }

        if (p.Units.IsDefault || p.Units.Any(u => !RegionCode.IsValid(u)) || (p.Units.IsEmpty && string.IsNullOrEmpty(p.Department)))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A worker serves grid or region codes, or belongs to a department", "units");
        }

        if (!p.Categories.IsDefault && !p.Categories.All(Identifiers.IsClassOrCategory))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Categories are 2-digit class or 4-digit category codes", "categories");
        }

        if (p.Capacity is < 1 or > 1000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Capacity must be from 1 to 1000", "capacity");
        }

        if (!Enum.IsDefined(p.Status))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown status '{p.Status}'", "status");
        }
    }

    /// <summary>Where the worker belongs on screens and in rosters: its first grid or region, else its department.</summary>
    private static string HomeUnitOf(WorkerProfile p) => p.Units.IsEmpty ? p.Department! : p.Units[0];

    private static IReadOnlyList<string> UnitsOf(WorkerProfile p) =>
        string.IsNullOrEmpty(p.Department) ? p.Units : [.. p.Units, p.Department];

    /// <summary>The community and street pools a worker belongs to: those above its home grid or community.</summary>
    private static IReadOnlyList<string> PoolsOf(WorkerProfile p)
    {
        if (p.Units.IsDefaultOrEmpty)
        {
            return [];
        }

        var home = p.Units[0];
        return RegionCode.LevelOf(home) switch
        {
            RegionLevel.Grid => [RegionCode.Parent(home)!, RegionCode.Parent(RegionCode.Parent(home)!)!],
            RegionLevel.Community => [RegionCode.Parent(home)!],
            _ => [],
        };
    }

    private static bool IsOpen(TaskStatus s) => s is TaskStatus.Offered or TaskStatus.Acknowledged or TaskStatus.InProgress;

    private static WorkerTask ToTask(WorkerTaskUpdate u) =>
        new(u.Incident.Id, u.Incident.Category, u.Incident.Severity, u.Status, u.Weight, u.Incident.Overdue);

    private static async Task Try(Func<Task> call, List<Exception> failures)
    {
        try
        {
            await call();
        }
        catch (Exception ex)
        {
            failures.Add(ex);
        }
    }
}
