using System.Text.Json;
using System.Text.Json.Serialization;

namespace GridDispatch.Silo.Database;

/// <summary>
/// How a <see cref="TimelineEntry"/> is one row of incident_events: seq, kind, actor, at, from_state and to_state are
/// columns; everything else is the jsonb payload. The payload is JSON with the web defaults (camelCase), enums as their
/// names and nulls left out — the format PostgresIncidentEventLog has always written, so its rows read here (they lack
/// <c>mode</c>, which reads as null). The intake index reads <c>payload → report → source / externalId</c>: those names
/// are part of the schema.
/// </summary>
public static class TimelineRows
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The payload of an entry: every field that is not a column.</summary>
    public static string Payload(TimelineEntry e) =>
        JsonSerializer.Serialize(new Body(e.Reason, e.Level, e.UnitCode, e.Assignee, e.Stars, e.Until, e.Deadline, e.Report, e.Mode, e.Photos, e.Key), Json);

    /// <summary>
    /// Rebuilds an entry from its columns and payload. <paramref name="at"/> is what timestamptz gives back: UTC, to the
    /// microsecond (an entry stamped with 100 ns ticks reads back truncated).
    /// </summary>
    public static TimelineEntry Read(int seq, string kind, string actor, DateTime at, string from, string to, string payload)
    {
        var body = JsonSerializer.Deserialize<Body>(payload, Json)
            ?? throw new JsonException($"Timeline entry {seq} has a null payload");
        return new TimelineEntry(
            seq,
            new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)),
            actor,
            Enum.Parse<IncidentEventKind>(kind),
            Enum.Parse<IncidentState>(from),
            Enum.Parse<IncidentState>(to),
            body.Reason,
            body.Level,
            body.UnitCode,
            body.Assignee,
            body.Stars,
            body.Until,
            body.Deadline,
            body.Report,
            body.Mode,
            body.Photos,
            body.Key);
    }

    /// <summary>The instant as timestamptz keeps it (UTC, whole microseconds).</summary>
    public static DateTimeOffset AsStored(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.AddTicks(-(utc.Ticks % 10)), TimeSpan.Zero);
    }

    /// <summary>
    /// The stored form of the payload. The property names are the stored JSON names (camelCased); never rename one,
    /// add new fields at the end.
    /// </summary>
    private sealed record Body(
        string? Reason,
        RegionLevel? Level,
        string? UnitCode,
        Assignee? Assignee,
        int? Stars,
        DateTimeOffset? Until,
        DeadlineKind? Deadline,
        IncidentReport? Report,
        Mode? Mode,
        PhotoList? Photos,
        string? Key);
}
