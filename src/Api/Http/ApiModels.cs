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
    string? Actor);

/// <summary>POST /api/incidents/{id}/{action}: who acts and why, plus what the action needs.</summary>
public sealed record IncidentActionRequest(
    string? Actor,
    string? Reason,
    int? Stars,
    DateTimeOffset? Until,
    string? WorkerId);

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
