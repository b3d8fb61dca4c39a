using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>
/// A resident's own reports, keyed by the resident's id (the token's subject), so "my reports" follows the resident from
/// phone to phone. Written by the API after a report is accepted; read by GET /api/me/reports.
/// </summary>
[Alias("GridDispatch.IReporterGrain")]
public interface IReporterGrain : IGrainWithStringKey
{
    /// <summary>Adds an incident this resident reported (idempotent); the oldest fall off past <see cref="ReporterLimits.Kept"/>.</summary>
    [Alias("Add")] Task AddAsync(string incidentId);

    /// <summary>The resident's reports, newest first.</summary>
    [Alias("List")] Task<ImmutableArray<string>> ListAsync();
}

public static class ReporterLimits
{
    /// <summary>How many of a resident's reports are listed (the newest); older ones stay readable by their link.</summary>
    public const int Kept = 100;
}
