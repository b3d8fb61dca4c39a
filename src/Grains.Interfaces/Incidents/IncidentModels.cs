using System.Collections.Immutable;

namespace GridDispatch;

[GenerateSerializer, Immutable, Alias("GridDispatch.Reporter")]
public sealed record Reporter(
    [property: Id(0)] string? Id,
    [property: Id(1)] string? Name,
    [property: Id(2)] string? Phone,
    [property: Id(3)] string? Address);

/// <summary>A new incident as it arrives from a resident, a patrol, the hotline or a sensor.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.IncidentReport")]
public sealed record IncidentReport(
    [property: Id(0)] string Category,
    [property: Id(1)] Severity Severity,
    [property: Id(2)] string GridCode,
    [property: Id(3)] string Description,
    [property: Id(4)] string Source,
    [property: Id(5)] string? ExternalId = null,
    [property: Id(6)] Reporter? Reporter = null,
    [property: Id(7)] GeoPoint? Location = null,
    [property: Id(8)] string Actor = "intake",
    [property: Id(9)] string? Household = null,
    [property: Id(10)] PhotoList? Photos = null);

/// <summary>
/// Who does a command and why. <see cref="Department"/> is the department key ("{city}:{department}") the actor acts
/// for, as the API verified it from the token: worker steps on an incident assigned to a department need it.
/// <see cref="Key"/> ("{caller}:{Idempotency-Key}") is kept on the entry the step makes, so the same step sent again
/// (a phone's queue after a lost answer) finds it and changes nothing.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ActorCommand")]
public sealed record ActorCommand(
    [property: Id(0)] string Actor,
    [property: Id(1)] string? Reason = null,
    [property: Id(2)] string? Department = null,
    [property: Id(3)] PhotoList? Photos = null,
    [property: Id(4)] string? Key = null);

/// <summary>
/// A rating. Only the reporter rates an incident that names one; an incident without a reporter id (hotline, patrol,
/// sensor) is rated by a supervisor recording the resident's rating for them (<see cref="OnBehalfOfReporter"/>, by phone
/// or at the door), which the timeline stamps as such.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RateCommand")]
public sealed record RateCommand(
    [property: Id(0)] string Actor,
    [property: Id(1)] int Stars,
    [property: Id(2)] string? Comment = null,
    [property: Id(3)] bool OnBehalfOfReporter = false,
    [property: Id(4)] string? Key = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.DeferCommand")]
public sealed record DeferCommand([property: Id(0)] string Actor, [property: Id(1)] string Reason, [property: Id(2)] DateTimeOffset? Until = null);

/// <summary>
/// A hand assignment. <see cref="ExpectedUnit"/> is the unit the caller was authorised for (the incident's level when
/// the API read it): if the incident has moved on since, the assignment is refused rather than made at the new level.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.AssignCommand")]
public sealed record AssignCommand(
    [property: Id(0)] string Actor,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string? Reason = null,
    [property: Id(3)] string? ExpectedUnit = null);

/// <summary>One append-only entry of an incident's timeline: who, when, from which state, to which, why.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.TimelineEntry")]
public sealed record TimelineEntry(
    [property: Id(0)] int Seq,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Actor,
    [property: Id(3)] IncidentEventKind Kind,
    [property: Id(4)] IncidentState From,
    [property: Id(5)] IncidentState To,
    [property: Id(6)] string? Reason = null,
    [property: Id(7)] RegionLevel? Level = null,
    [property: Id(8)] string? UnitCode = null,
    [property: Id(9)] Assignee? Assignee = null,
    [property: Id(10)] int? Stars = null,
    [property: Id(11)] DateTimeOffset? Until = null,
    [property: Id(12)] DeadlineKind? Deadline = null,
    [property: Id(13)] IncidentReport? Report = null,
    [property: Id(14)] Mode? Mode = null,
    [property: Id(15)] PhotoList? Photos = null,
    [property: Id(16)] string? Key = null);

/// <summary>What the incident contributes to KPIs right now (see <see cref="KpiCounters"/>).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.KpiFacts")]
public sealed record KpiFacts(
    [property: Id(0)] bool Due,
    [property: Id(1)] bool Closed,
    [property: Id(2)] bool OnTime,
    [property: Id(3)] bool Deferred,
    [property: Id(4)] bool Reworked,
    [property: Id(5)] int? Rating,
    [property: Id(6)] bool Urgent)
{
    public KpiSet ToKpiSet()
    {
        var c = new KpiCounters(
            Due ? 1 : 0, Closed ? 1 : 0, Closed && OnTime ? 1 : 0, Deferred ? 1 : 0,
            Closed && Reworked ? 1 : 0, Rating is null ? 0 : 1, Rating ?? 0);
        return new KpiSet(c, Urgent ? c : KpiCounters.Zero);
    }
}

/// <summary>The compact form of an incident that grids, workers and regions keep.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.IncidentSummary")]
public sealed record IncidentSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string Category,
    [property: Id(2)] Severity Severity,
    [property: Id(3)] string GridCode,
    [property: Id(4)] IncidentState State,
    [property: Id(5)] RegionLevel Level,
    [property: Id(6)] Assignee? Assignee,
    [property: Id(7)] bool Overdue,
    [property: Id(8)] DateTimeOffset? HandleDueAt,
    [property: Id(9)] KpiFacts Facts,
    [property: Id(10)] long Version,
    [property: Id(11)] string? Household = null)
{
    public bool IsTerminal => State is IncidentState.Closed or IncidentState.Cancelled;
}

[GenerateSerializer, Immutable, Alias("GridDispatch.IncidentView")]
public sealed record IncidentView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Source,
    [property: Id(2)] string? ExternalId,
    [property: Id(3)] string Category,
    [property: Id(4)] Severity Severity,
    [property: Id(5)] string GridCode,
    [property: Id(6)] string Description,
    [property: Id(7)] Reporter? Reporter,
    [property: Id(8)] GeoPoint? Location,
    [property: Id(9)] IncidentState State,
    [property: Id(10)] RegionLevel Level,
    [property: Id(11)] string LevelCode,
    [property: Id(12)] Assignee? Assignee,
    [property: Id(13)] bool Acknowledged,
    [property: Id(14)] ImmutableDictionary<DeadlineKind, DateTimeOffset> Deadlines,
    [property: Id(15)] bool Overdue,
    [property: Id(16)] bool MissedDeadline,
    [property: Id(17)] int ReworkCount,
    [property: Id(18)] int? Rating,
    [property: Id(19)] DateTimeOffset ReportedAt,
    [property: Id(20)] DateTimeOffset UpdatedAt,
    [property: Id(21)] long Version,
    [property: Id(22)] ImmutableArray<TimelineEntry> Timeline,
    [property: Id(23)] string? Household = null);

/// <summary>The outcome of intake: the incident, whether this call created it, and whether the
/// request matched the one that created it (same source and external id, different content = false).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ReportResult")]
public sealed record ReportResult(
    [property: Id(0)] IncidentView Incident,
    [property: Id(1)] bool Created,
    [property: Id(2)] bool SameRequest);

/// <summary>A request travelling up the escalation chain: find someone to handle this incident.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RouteRequest")]
public sealed record RouteRequest(
    [property: Id(0)] string IncidentId,
    [property: Id(1)] string Category,
    [property: Id(2)] string? Department,
    [property: Id(3)] Severity Severity,
    [property: Id(4)] int Weight,
    [property: Id(5)] string GridCode,
    [property: Id(6)] ImmutableArray<string> Excluded,
    [property: Id(7)] ImmutableArray<RoutePass> Passes,
    [property: Id(8)] RebalanceFrom? Rebalance = null);

/// <summary>
/// A move of an unstarted task off a worker (overloaded or gone off duty): only workers nearby (the grid, then the
/// community and street pools) are asked, the chain never passes it up, and a candidate must end up less loaded than
/// <see cref="Utilisation"/>, the source worker's load relative to capacity (0 when the source went off duty).
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RebalanceFrom")]
public sealed record RebalanceFrom([property: Id(0)] string WorkerId, [property: Id(1)] double Utilisation, [property: Id(2)] bool OffDuty);

/// <summary>A level that passed the incident up, and why.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RoutePass")]
public sealed record RoutePass([property: Id(0)] RegionLevel Level, [property: Id(1)] string Code, [property: Id(2)] string Reason);

/// <summary>
/// Where the chain stopped. <see cref="Assignee"/> is null when the top level queued it for a commander.
/// <see cref="OverloadedAt"/> is the deciding unit's overload line (fraction of capacity), which the worker applies to the offer.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RouteOutcome")]
public sealed record RouteOutcome(
    [property: Id(0)] RegionLevel Level,
    [property: Id(1)] string Code,
    [property: Id(2)] Assignee? Assignee,
    [property: Id(3)] ImmutableArray<RoutePass> Passes,
    [property: Id(4)] double OverloadedAt = 1.0,
    [property: Id(5)] string? Note = null);

/// <summary>A worker's request to move an unstarted task off it: overloaded (utilisation above its line) or off duty.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.MoveOff")]
public sealed record MoveOff(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Reason,
    [property: Id(2)] double Utilisation,
    [property: Id(3)] bool OffDuty);
