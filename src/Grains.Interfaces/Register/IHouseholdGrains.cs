using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>
/// One household of the register while it is active: its colour, revisits and warning. Keyed by its household id
/// (<see cref="HouseholdIds"/>). The register itself lives in the household store; this grain holds one household's
/// row only while something happens to it, and writes it back after the version it read.
/// </summary>
[Alias("GridDispatch.IHouseholdGrain")]
public interface IHouseholdGrain : IGrainWithStringKey
{
    /// <summary>The household with its people and latest log lines; a refusal (not found) when it is not registered.</summary>
    [Alias("Get")] Task<HouseholdView> GetAsync();

    /// <summary>A colour by hand with the reason; yellow or red opens a warning, green clears what was set by hand.</summary>
    [Alias("SetColour")] Task<HouseholdView> SetColourAsync(ColourCommand command);

    /// <summary>A visit logged; the next revisit of its kind is scheduled from it.</summary>
    [Alias("Visit")] Task<HouseholdView> VisitAsync(VisitCommand command);

    /// <summary>An incident found at this household was reported (a finding of a visit or a campaign task); idempotent.</summary>
    [Alias("FindingReported")] Task FindingReportedAsync(string incidentId);

    /// <summary>The household's due time has come (a revisit fell due, or its open incidents are to be checked).</summary>
    [Alias("Wake")] Task WakeAsync(DateTimeOffset dueAt);

    /// <summary>An incident linked to this household changed (a finding, or its warning). One-way: the grid passes it on.</summary>
    [OneWay, Alias("IncidentChanged")] Task IncidentChangedAsync(IncidentSummary incident);

    /// <summary>A person's personal data erased (name, phone, id number blanked; the log keeps that it happened).</summary>
    [Alias("ErasePerson")] Task<HouseholdView> ErasePersonAsync(string personId, string actor, string reason);
}

/// <summary>The register's reads and a grid's imports, for the API host (which has no database of its own).</summary>
[Alias("GridDispatch.IRegisterGrain")]
public interface IRegisterGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Registers or updates the grid's households as one unit (nothing of it is stored if any of it fails); a
    /// household already registered (same building and unit) is updated, never added twice.
    /// </summary>
    [Alias("Import")] Task<ImportOutcome> ImportAsync(string gridCode, ImmutableArray<HouseholdInput> households, string actor, string reason);

    /// <summary>A region's file: every grid's households merged and written in one transaction, all of them or none.</summary>
    [Alias("ImportRegion")] Task<ImmutableArray<ImportOutcome>> ImportRegionAsync(ImmutableDictionary<string, ImmutableArray<HouseholdInput>> byGrid, string actor, string reason);

    /// <summary>A grid's register for a spreadsheet, personal data masked before it leaves the silo.</summary>
    [Alias("Export")] Task<ImmutableArray<HouseholdExportRow>> ExportAsync(string gridCode);

    /// <summary>
    /// A first register for a grid that has none (a simulated or newly generated city): written as one unit, with its
    /// buildings' facts; false, and nothing written, when the grid already holds households (the grid recounts them
    /// either way, so a cluster started over a register another one wrote counts it too).
    /// </summary>
    [Alias("Seed")] Task<bool> SeedAsync(string gridCode, ImmutableArray<HouseholdInput> households, ImmutableArray<BuildingInfo> buildings);

    [Alias("List")] Task<HouseholdPage> ListAsync(string gridCode, Colour? colour, string? tag, int page, int pageSize);

    [Alias("Buildings")] Task<ImmutableArray<BuildingView>> BuildingsAsync(string gridCode);

    /// <summary>Households of the grid whose next revisit is due by <paramref name="upTo"/>, earliest first.</summary>
    [Alias("DueRevisits")] Task<ImmutableArray<DueRevisit>> DueRevisitsAsync(string gridCode, DateTimeOffset upTo, int limit);
}

public static class HouseholdVisits
{
    /// <summary>
    /// A visit and what it found: the visit is logged first (a problem turns the household yellow), then each finding
    /// becomes an incident of its own linked to the household, reported from its grid under a stable external id
    /// (household, visit's version, finding), so it appears as an open finding of the household until it is closed.
    /// </summary>
    public static async Task<(HouseholdView Household, ImmutableArray<string> Incidents)> VisitAsync(this IGrainFactory grains, string householdId,
        VisitCommand visit, ImmutableArray<Finding> findings)
    {
        findings = CampaignTasks.CheckFindings(findings);
        if (!findings.IsEmpty && visit.Outcome == VisitOutcome.NotReachable)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A visit nobody answered has no findings", "findings");
        }

        var grain = grains.GetGrain<IHouseholdGrain>(householdId);
        var household = await grain.VisitAsync(visit);
        var incidents = ImmutableArray.CreateBuilder<string>();
        for (var i = 0; i < findings.Length; i++)
        {
            // Keyed by the visit's key when it has one, so a retried report reports each finding once.
            var f = findings[i];
            var externalId = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{householdId}#v{(visit.Key is { } key ? "k" + IncidentIds.For("visit", key) : household.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))}#{i + 1}");
            var report = new IncidentReport(f.Category, f.Severity, household.GridCode, f.Description, "register", externalId, null, null, visit.Actor, householdId);
            var id = (await grains.GetGrain<IIncidentGrain>(IncidentIds.For("register", externalId)).ReportAsync(report)).Incident.Id;
            await grain.FindingReportedAsync(id);   // awaited: the household holds it open until it ends
            incidents.Add(id);
        }

        return (household, incidents.ToImmutable());
    }
}
