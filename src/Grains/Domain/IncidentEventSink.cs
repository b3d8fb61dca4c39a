namespace GridDispatch.Domain;

/// <summary>
/// Where incidents hand their timeline entries after each committed change. Appends must be idempotent per
/// (incident, sequence) and must never block or fail the grain: the embedded default discards them; the durable silo
/// writes them to PostgreSQL in batches.
/// </summary>
public interface IIncidentEventSink
{
    void Append(string incidentId, IReadOnlyList<TimelineEntry> entries);
}

public sealed class NoIncidentEventSink : IIncidentEventSink
{
    public void Append(string incidentId, IReadOnlyList<TimelineEntry> entries)
    {
    }
}
