namespace GridDispatch.Tests.Infrastructure;

public static class Reports
{
    public static IncidentReport Make(string grid, string category = "0101", Severity severity = Severity.Routine,
        string? externalId = null, string source = "test", string? reporter = "resident-1") =>
        new(category, severity, grid, $"Test incident in {grid}", source, externalId ?? Guid.NewGuid().ToString("N"),
            reporter is null ? null : new Reporter(reporter, "Resident", "13800000000", "Building 1"), new GeoPoint(22.54, 114.05));

    public static async Task<IncidentView> ReportAsync(this IGrainFactory grains, IncidentReport report)
    {
        var id = IncidentIds.For(report.Source, report.ExternalId);
        var result = await grains.GetGrain<IIncidentGrain>(id).ReportAsync(report);
        return result.Incident;
    }

    public static IIncidentGrain Incident(this IGrainFactory grains, IncidentView view) => grains.GetGrain<IIncidentGrain>(view.Id);

    public static IReadOnlyList<IncidentEventKind> Kinds(this IncidentView view) => [.. view.Timeline.Select(e => e.Kind)];
}
