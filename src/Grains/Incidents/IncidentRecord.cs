using System.Collections.Immutable;

using GridDispatch.Domain;

namespace GridDispatch.Incidents;

/// <summary>
/// The persisted state of one incident. It changes only by <see cref="Apply"/>ing timeline entries (events),
/// except <see cref="Deadlines"/>[<see cref="DeadlineKind.RouteRetry"/>] and [<see cref="DeadlineKind.Tell"/>], which
/// are bookkeeping (a routing retry, tells not heard yet) rather than facts of the case, and <see cref="ReminderDueAt"/>, which only state rows written before
/// deadlines became data hold (their incident's reminder).
/// </summary>
[GenerateSerializer, Alias("GridDispatch.IncidentRecord.v1")]
public sealed class IncidentRecord
{
    [Id(0)] public IncidentReport? Report { get; set; }
    [Id(1)] public string Fingerprint { get; set; } = "";
    [Id(2)] public IncidentState State { get; set; }
    [Id(3)] public RegionLevel Level { get; set; }
    [Id(4)] public string LevelCode { get; set; } = "";
    [Id(5)] public Assignee? Assignee { get; set; }
    [Id(6)] public bool Acknowledged { get; set; }
    [Id(7)] public List<string> Excluded { get; set; } = [];
    [Id(8)] public Dictionary<DeadlineKind, DateTimeOffset> Deadlines { get; set; } = [];
    [Id(9)] public bool MissedDeadline { get; set; }
    [Id(10)] public int ReworkCount { get; set; }
    [Id(11)] public int? Rating { get; set; }
    [Id(12)] public string? Resolver { get; set; }
    [Id(13)] public DateTimeOffset ReportedAt { get; set; }
    [Id(14)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(15)] public List<TimelineEntry> Timeline { get; set; } = [];
    [Id(16)] public DateTimeOffset? HandleDueWhenDeferred { get; set; }
    // Id 17 held a "was deferred" flag nothing read; it stays retired so old rows still read.
    [Id(18)] public string? QueuedAt { get; set; }
    [Id(19)] public DateTimeOffset? ReminderDueAt { get; set; }
    /// <summary>The operating mode of the grid when the incident was accepted; its policy sets the deadlines.</summary>
    [Id(20)] public Mode AcceptedMode { get; set; }

    public bool Exists => Report is not null;

    public long Version => Timeline.Count;

    public IncidentReport R => Report ?? throw new DomainException(DomainErrors.NotFound, "No such incident");

    public void Apply(TimelineEntry e)
    {
        State = e.To;
        UpdatedAt = e.At;
        Timeline.Add(e);
        switch (e.Kind)
        {
            case IncidentEventKind.Reported:
                Report = e.Report;
                Fingerprint = IncidentIds.Fingerprint(e.Report!);
                ReportedAt = e.At;
                Level = RegionLevel.Grid;
                LevelCode = e.Report!.GridCode;
                SetDeadline(DeadlineKind.Accept, e.Until);
                break;
            case IncidentEventKind.Accepted:
                AcceptedMode = e.Mode ?? Mode.Everyday;
                Deadlines.Remove(DeadlineKind.Accept);
                SetDeadline(DeadlineKind.Handle, e.Until);
                break;
            case IncidentEventKind.Dispatched:
            case IncidentEventKind.Reassigned:
                Assignee = e.Assignee;
                Acknowledged = false;
                QueuedAt = e.Assignee?.Kind == AssigneeKind.Department ? e.Assignee.Id : null;
                Deadlines.Remove(DeadlineKind.RouteRetry);
                SetDeadline(DeadlineKind.TaskAcceptance, e.Until);
                break;
            case IncidentEventKind.TaskAcknowledged:
            case IncidentEventKind.WorkStarted:
                Acknowledged = true;
                Deadlines.Remove(DeadlineKind.TaskAcceptance);
                break;
            case IncidentEventKind.TaskDeclined:
            case IncidentEventKind.AcceptanceTimedOut:
            case IncidentEventKind.HandedBack:
                if (Assignee is { Kind: AssigneeKind.Worker } w && !Excluded.Contains(w.Id))
                {
                    Excluded.Add(w.Id);
                }

                Unassign();
                break;
            case IncidentEventKind.Resolved:
                Resolver = Assignee?.Id;
                Deadlines.Remove(DeadlineKind.Handle);
                SetDeadline(DeadlineKind.Verify, e.Until);
                break;
            case IncidentEventKind.Verified:
                Deadlines.Remove(DeadlineKind.Verify);
                SetDeadline(DeadlineKind.Rating, e.Until);
                break;
            case IncidentEventKind.ReturnedForRework:
                ReworkCount++;
                Deadlines.Remove(DeadlineKind.Verify);
                SetDeadline(DeadlineKind.Handle, e.Until);
                break;
            case IncidentEventKind.Rated:
                Rating = e.Stars;
                Deadlines.Remove(DeadlineKind.Rating);
                break;
            case IncidentEventKind.Closed:
            case IncidentEventKind.Cancelled:
                Deadlines.Clear();
                QueuedAt = null;
                break;
            case IncidentEventKind.Deferred:
                HandleDueWhenDeferred = Deadlines.TryGetValue(DeadlineKind.Handle, out var handleDue) ? handleDue : null;
                Unassign();
                Deadlines.Remove(DeadlineKind.Handle);
                Deadlines.Remove(DeadlineKind.TaskAcceptance);
                break;
            case IncidentEventKind.Resumed:
                SetDeadline(DeadlineKind.Handle, e.Until);
                HandleDueWhenDeferred = null;
                break;
            case IncidentEventKind.Escalated:
                Level = e.Level ?? Level;
                LevelCode = e.UnitCode ?? LevelCode;
                Unassign();
                SetDeadline(DeadlineKind.Handle, e.Until);
                break;
            case IncidentEventKind.DeadlineMissed:
                if (e.Deadline is { } kind)
                {
                    Deadlines.Remove(kind);
                    MissedDeadline |= kind is DeadlineKind.Handle or DeadlineKind.Accept;
                }

                break;
            case IncidentEventKind.Rescheduled:
                // A tell's retry is bookkeeping of the activation that wrote it (which keeps it itself): not folded.
                if (e.Deadline is { } moved && moved != DeadlineKind.Tell)
                {
                    SetDeadline(moved, e.Until);
                }

                break;
            case IncidentEventKind.AwaitingAssignment:
                QueuedAt = e.UnitCode;
                Deadlines.Remove(DeadlineKind.RouteRetry);
                break;
        }
    }

    private void Unassign()
    {
        Assignee = null;
        Acknowledged = false;
        QueuedAt = null;
        Deadlines.Remove(DeadlineKind.TaskAcceptance);
    }

    private void SetDeadline(DeadlineKind kind, DateTimeOffset? at)
    {
        if (at is { } due)
        {
            Deadlines[kind] = due;
        }
    }

    public bool IsOverdue(DateTimeOffset now) =>
        IncidentRules.IsWork(State)
        && (MissedDeadline || (Deadlines.TryGetValue(DeadlineKind.Handle, out var due) && due <= now));

    public KpiFacts Facts(DateTimeOffset now)
    {
        var closed = State == IncidentState.Closed;
        var deferred = State == IncidentState.Deferred;
        var due = closed || deferred || (State != IncidentState.Cancelled && IsOverdue(now));
        return new KpiFacts(due, closed, closed && !MissedDeadline, deferred, ReworkCount > 0, Rating, R.Severity != Severity.Routine);
    }

    public IncidentSummary Summary(string id, DateTimeOffset now) => new(
        id, R.Category, R.Severity, R.GridCode, State, Level, Assignee, IsOverdue(now),
        Deadlines.TryGetValue(DeadlineKind.Handle, out var h) ? h : null, Facts(now), Version, R.Household);

    /// <summary>Takes the reporter's contact out of the report and its timeline entry (states written before migration 008).</summary>
    public void StripContact()
    {
        Report = Report! with { Reporter = Report.Reporter is { } r ? new Reporter(r.Id, null, null, null) : null };
        for (var i = 0; i < Timeline.Count; i++)
        {
            if (Timeline[i] is { Kind: IncidentEventKind.Reported, Report: not null } entry)
            {
                Timeline[i] = entry with { Report = Report };
            }
        }

        Fingerprint = IncidentIds.Fingerprint(Report);
    }

    /// <summary>The incident as the engine shows it; <paramref name="contact"/> (from the personal-data store) joins the reporter.</summary>
    public IncidentView View(string id, DateTimeOffset now, ReporterContact? contact = null) => new(
        id, R.Source, R.ExternalId, R.Category, R.Severity, R.GridCode, R.Description,
        contact is null ? R.Reporter : new Reporter(R.Reporter?.Id, contact.Name, contact.Phone, contact.Address), R.Location,
        State, Level, LevelCode, Assignee, Acknowledged,
        Deadlines.Where(d => d.Key is not (DeadlineKind.RouteRetry or DeadlineKind.Tell)).ToImmutableDictionary(),
        IsOverdue(now), MissedDeadline, ReworkCount, Rating, ReportedAt, UpdatedAt, Version, [.. Timeline], R.Household);
}
