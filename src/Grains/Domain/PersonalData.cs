using System.Collections.Concurrent;

namespace GridDispatch.Domain;

/// <summary>A reporter's personal data: kept apart from the timeline so it can be erased without rewriting history.</summary>
public sealed record ReporterContact(string? Name, string? Phone, string? Address)
{
    public bool IsEmpty => Name is null && Phone is null && Address is null;

    /// <summary>The contact part of a reporter, or null when it carries none.</summary>
    public static ReporterContact? Of(Reporter? reporter) =>
        reporter is null || (reporter.Name is null && reporter.Phone is null && reporter.Address is null)
            ? null : new ReporterContact(reporter.Name, reporter.Phone, reporter.Address);
}

/// <summary>
/// Where reporters' personal data lives, one record per incident, referenced by the incident id (the timeline and the
/// event log carry only the reporter's id). Erasure blanks the record and keeps who erased it and when.
/// </summary>
public interface IPersonalDataStore
{
    Task SaveAsync(string incidentId, string? reporterId, ReporterContact contact);

    /// <summary>The contact of an incident, or null when it has none or it was erased.</summary>
    Task<ReporterContact?> GetAsync(string incidentId);

    /// <summary>Blanks the record; true when there was personal data to erase.</summary>
    Task<bool> EraseAsync(string incidentId, string erasedBy);
}

/// <summary>
/// The embedded default's store: one per process, standing in for the database that every silo of a process would
/// share (the in-process test cluster's silos see the same records). Records are a few hundred bytes each and live as
/// long as the process, like the in-memory grain storage they accompany.
/// </summary>
public sealed class MemoryPersonalDataStore : IPersonalDataStore
{
    private static readonly ConcurrentDictionary<string, ReporterContact> Records = new(StringComparer.Ordinal);

    public Task SaveAsync(string incidentId, string? reporterId, ReporterContact contact)
    {
        Records[incidentId] = contact;
        return Task.CompletedTask;
    }

    public Task<ReporterContact?> GetAsync(string incidentId) =>
        Task.FromResult(Records.TryGetValue(incidentId, out var contact) ? contact : null);

    public Task<bool> EraseAsync(string incidentId, string erasedBy) => Task.FromResult(Records.TryRemove(incidentId, out _));
}
