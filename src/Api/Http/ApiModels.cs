namespace GridDispatch.Api.Http;

public sealed record ReporterDto(string? Id, string? Name, string? Phone, string? Address);

public sealed record LocationDto(double Latitude, double Longitude);

/// <summary>POST /api/incidents.</summary>
public sealed record ReportIncidentRequest(
    string? Category,
    Severity? Severity,
    string? GridCode,
    string? Description,
    string? Source,
    string? ExternalId,
    ReporterDto? Reporter,
    LocationDto? Location,
    string? Actor,
    IReadOnlyList<string>? Photos = null);

/// <summary>POST /api/incidents/{id}/{action}: who acts and why, plus what the action needs.</summary>
public sealed record IncidentActionRequest(
    string? Actor,
    string? Reason,
    int? Stars,
    DateTimeOffset? Until,
    string? WorkerId,
    IReadOnlyList<string>? Photos = null);

/// <summary>A finished sweep task and the incidents its findings were filed as.</summary>
public sealed record TaskFinished(SweepTaskView Task, System.Collections.Immutable.ImmutableArray<string> Incidents);

/// <summary>A recorded visit: the household as it now is and the incidents its findings were filed as.</summary>
public sealed record VisitRecorded(HouseholdView Household, System.Collections.Immutable.ImmutableArray<string> Incidents);

/// <summary>A health probe's answer.</summary>
public sealed record HealthAnswer(string Status, string? Detail = null, long? Backlog = null);

public sealed record WorkerStatusRequest(WorkerStatus? Status);

public sealed record PageOf<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

/// <summary>KPI figures with their rates, as GET /api/kpis/{code} returns them.</summary>
public sealed record KpiFigures(int Due, int Closed, int ClosedOnTime, int Deferred, int Reworked, int Rated,
    double? ClosureRate, double? OnTimeRate, double? ReworkRate, double? AverageRating)
{
    public static KpiFigures Of(KpiCounters c) =>
        new(c.Due, c.Closed, c.ClosedOnTime, c.Deferred, c.Reworked, c.Rated, c.ClosureRate, c.OnTimeRate, c.ReworkRate, c.AverageRating);
}

public sealed record KpiReport(string Code, RegionLevel Level, string Name, KpiFigures All, KpiFigures Urgent, DateTimeOffset AsOf);

/// <summary>POST /api/regions/{code}/mode.</summary>
public sealed record ModeRequest(Mode? Mode, string? Level, string? Reason, string? Actor);

/// <summary>POST /api/campaigns.</summary>
public sealed record CampaignRequest(string? Scope, CampaignKind? Kind, string? Title, ScheduleDto? Schedule, string? Actor,
    IReadOnlyList<string>? Tags = null, string? Supplies = null);

/// <summary>Local times of day ("08:00") at which a new round starts, until an optional end.</summary>
public sealed record ScheduleDto(IReadOnlyList<string>? TimesOfDay, DateTimeOffset? Until);

/// <summary>POST /api/campaigns/{id}/end.</summary>
public sealed record CampaignEndRequest(string? Actor, string? Reason);

/// <summary>POST /api/campaigns/tasks/{taskId}/start and …/finish.</summary>
public sealed record SweepTaskRequest(string? Actor, SweepOutcome? Outcome, string? Note, IReadOnlyList<FindingDto>? Findings,
    IReadOnlyList<string>? Photos = null);

public enum SweepOutcome
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("done")] Done,
    [System.Text.Json.Serialization.JsonStringEnumMemberName("not-reachable")] NotReachable,
}

public sealed record FindingDto(string? Category, Severity? Severity, string? Description);

/// <summary>POST /api/workers/surge.</summary>
public sealed record SurgeRequestDto(string? Scope, string? Actor, SurgeAttach? Attach, IReadOnlyList<SurgeWorkerDto>? Workers);

public sealed record SurgeWorkerDto(string? Id, string? Name, WorkerKind? Kind, IReadOnlyList<string>? Categories, int? Capacity, string? Home);

/// <summary>GET /api/regions/{code}/load: who carries the most, and where the surge workers are.</summary>
public sealed record LoadView(
    string Code, RegionLevel Level, string Name, OperatingMode? Mode, int Workers, int Load, int Capacity, double Utilisation,
    int Overloaded, int SurgeWorkers, IReadOnlyList<WorkerBrief> MostLoaded, IReadOnlyList<LoadRow> Children);

public sealed record LoadRow(string Code, RegionLevel Level, string Name, int Workers, int Load, int Capacity, int Overloaded, int SurgeWorkers);
