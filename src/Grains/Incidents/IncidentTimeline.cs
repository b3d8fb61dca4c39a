using GridDispatch.Domain;
using Orleans.Storage;

namespace GridDispatch.Incidents;

/// <summary>
/// An incident's persistence. Its store is its timeline (<see cref="IIncidentStore"/>): the record is the fold of the
/// entries, and a commit appends the entries made since the last one, after the version it read. A state row written
/// by an older version (before the timeline became the store) is kept as the snapshot the fold starts from; its entries
/// are handed once more to the old event log, which keeps each (incident, sequence) once, so none is missing there.
/// </summary>
internal sealed class IncidentTimeline(string id, LegacySnapshot legacy, IIncidentStore store, IIncidentEventSink oldLog)
{
    public IncidentRecord State { get; private set; } = new();

    /// <summary>The version the store holds: entries above it are made but not yet committed.</summary>
    public int Committed { get; private set; }

    public bool HasPending => State.Timeline.Count > Committed;

    public bool FromLegacyRow => legacy.RecordExists;

    /// <summary>The next due time the store holds for the incident, as read at the last load (null: nothing due).</summary>
    public DateTimeOffset? StoredDue { get; private set; }

    /// <summary>
    /// False when the load read no entry from the store (a legacy snapshot with nothing after it, or no incident):
    /// then what the store holds as due is not known.
    /// </summary>
    public bool StoredDueKnown { get; private set; }

    public async Task LoadAsync()
    {
        await legacy.ReadAsync();
        var record = legacy.RecordExists ? legacy.State : new IncidentRecord();
        var stored = await store.ReadAsync(id, record.Timeline.Count);
        foreach (var entry in stored)
        {
            record.Apply(entry);
        }

        (StoredDue, StoredDueKnown) = (stored.DueAt, stored.DueKnown);

        State = record;
        Committed = record.Timeline.Count;
        RepublishLegacy();
    }

    /// <summary>
    /// Appends what was made since the last commit, with the next due time after it; durable when it returns (or throws,
    /// and nothing was stored).
    /// </summary>
    public async Task CommitAsync(DateTimeOffset? nextDue)
    {
        if (!HasPending)
        {
            return;
        }

        var pending = State.Timeline.GetRange(Committed, State.Timeline.Count - Committed);
        await store.AppendAsync(id, Committed, pending, nextDue);
        Committed = State.Timeline.Count;
    }

    /// <summary>Throws away what was not committed: reads the snapshot and the timeline again.</summary>
    public Task ReloadAsync() => LoadAsync();

    /// <summary>Stores the record as the snapshot row again (legacy incidents only, after their contact was moved out).</summary>
    public Task SaveSnapshotAsync() => legacy.RecordExists ? legacy.WriteAsync() : Task.CompletedTask;

    private static TimelineEntry WithoutContact(TimelineEntry e) =>
        e.Report?.Reporter is { } r && (r.Name ?? r.Phone ?? r.Address) is not null
            ? e with { Report = e.Report with { Reporter = new Reporter(r.Id, null, null, null) } }
            : e;

    /// <summary>The old event log has every entry of a legacy incident (idempotent); new incidents' entries are the store itself.</summary>
    public void RepublishLegacy()
    {
        if (legacy.RecordExists && State.Timeline.Count > 0)
        {
            // A row from before migration 008 still holds the reporter's contact in its report: it never goes to the log.
            oldLog.Append(id, [.. State.Timeline.Select(WithoutContact)]);
        }
    }
}

/// <summary>
/// An incident's state row from before the timeline became the store, read only where such rows may exist
/// (<see cref="ILegacyIncidentRows"/>).
/// </summary>
internal sealed class LegacySnapshot(IGrainStorage storage, GrainId grain, bool mayExist)
{
    private const string StateName = "incident";

    private readonly GrainState<IncidentRecord> _row = new();

    public bool RecordExists => _row.RecordExists;

    public IncidentRecord State => _row.State ??= new IncidentRecord();

    public Task ReadAsync() => mayExist || _row.RecordExists ? storage.ReadStateAsync(StateName, grain, _row) : Task.CompletedTask;

    public Task WriteAsync() => storage.WriteStateAsync(StateName, grain, _row);
}
