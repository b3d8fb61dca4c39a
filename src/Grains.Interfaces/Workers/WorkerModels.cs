using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>A grid worker (网格员) as registered: kind, where they serve and what they handle.</summary>
/// <param name="Units">Grid or region codes the worker serves; the first is their home unit, where their load is counted.</param>
/// <param name="Categories">Category or top-class codes the worker handles; empty means every category.</param>
/// <param name="Capacity">Load (open tasks weighted by severity) the worker can carry.</param>
/// <param name="Department">The functional department the worker belongs to, if any.</param>
[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerProfile")]
public sealed record WorkerProfile(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] WorkerKind Kind,
    [property: Id(3)] ImmutableArray<string> Units,
    [property: Id(4)] ImmutableArray<string> Categories,
    [property: Id(5)] int Capacity,
    [property: Id(6)] string? Department = null,
    [property: Id(7)] WorkerStatus Status = WorkerStatus.Available,
    [property: Id(8)] GeoPoint? Location = null,
    [property: Id(9)] string? SurgeScope = null)
{
    /// <summary>A temporary (surge) worker, registered for an emergency at <see cref="SurgeScope"/> and released at stand-down.</summary>
    public bool Temporary => SurgeScope is not null;

    /// <summary>The unit where the worker's load is counted (the first they serve), or null for department staff with none.</summary>
    public string? Home => Units.IsDefaultOrEmpty ? null : Units[0];
}

/// <summary>What a grid, region or department knows about one worker of its roster.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RosterEntry")]
public sealed record RosterEntry(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] WorkerKind Kind,
    [property: Id(2)] ImmutableArray<string> Categories,
    [property: Id(3)] WorkerStatus Status,
    [property: Id(4)] int Load,
    [property: Id(5)] int Capacity,
    [property: Id(6)] string HomeUnit,
    [property: Id(7)] long Version,
    [property: Id(8)] bool Temporary = false)
{
    public bool OnDuty => Status != WorkerStatus.OffDuty;

    /// <summary>True when the worker handles the category (by its 4-digit code or its 2-digit top class).</summary>
    public bool Handles(string category) =>
        Categories.IsDefaultOrEmpty || Categories.Contains(category) || (category.Length >= 2 && Categories.Contains(category[..2]));
}

[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerTask")]
public sealed record WorkerTask(
    [property: Id(0)] string IncidentId,
    [property: Id(1)] string Category,
    [property: Id(2)] Severity Severity,
    [property: Id(3)] TaskStatus Status,
    [property: Id(4)] int Weight,
    [property: Id(5)] bool Overdue,
    [property: Id(6)] string? Campaign = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerView")]
public sealed record WorkerView(
    [property: Id(0)] WorkerProfile Profile,
    [property: Id(1)] WorkerStatus Status,
    [property: Id(2)] GeoPoint? Location,
    [property: Id(3)] int Load,
    [property: Id(4)] int Capacity,
    [property: Id(5)] ImmutableArray<WorkerTask> Tasks,
    [property: Id(6)] KpiSet Kpi,
    [property: Id(7)] long Version,
    [property: Id(8)] DateTimeOffset? ReleasedAt = null)
{
    /// <summary>Load relative to capacity (1.0 = full).</summary>
    public double Utilisation => Capacity > 0 ? (double)Load / Capacity : 1.0;
}

/// <summary>The incident telling its worker where the task stands; an offer carries the mode's overload line (fraction of capacity).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerTaskUpdate")]
public sealed record WorkerTaskUpdate(
    [property: Id(0)] IncidentSummary Incident,
    [property: Id(1)] TaskStatus Status,
    [property: Id(2)] int Weight,
    [property: Id(3)] double OverloadedAt = 1.0);

/// <summary>Shed unstarted incident tasks until the load is at most <see cref="TargetLoad"/>.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ShedRequest")]
public sealed record ShedRequest([property: Id(0)] double TargetLoad, [property: Id(1)] string Reason);
