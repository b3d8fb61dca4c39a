using System.Text.Json;
using System.Text.Json.Serialization;
using GridDispatch.Silo.Database;

namespace GridDispatch.Tests.Durable;

/// <summary>A timeline entry as a row of incident_events: columns plus a JSON payload, old rows included.</summary>
public sealed class TimelineRowsTests
{
    /// <summary>An entry with every field set (a report with a reporter id only and a location).</summary>
    internal static TimelineEntry Full(int seq = 1, string actor = "leader") => new(
        seq,
        new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_560),
        actor,
        IncidentEventKind.Deferred,
        IncidentState.Dispatched,
        IncidentState.Deferred,
        Reason: "waiting for parts — 等待配件",
        Level: RegionLevel.Street,
        UnitCode: "4499010010",
        Assignee: Assignee.Worker("w-7"),
        Stars: 4,
        Until: new DateTimeOffset(2026, 3, 9, 8, 0, 0, TimeSpan.FromHours(8)).AddTicks(7),
        Deadline: DeadlineKind.Handle,
        Report: new IncidentReport("0101", Severity.Urgent, "449901001001001", "Broken lamp", "app", "ext-1",
            new Reporter("resident-9", null, null, null), new GeoPoint(31.2304567891234, 121.4737012345678), "resident-9",
            Photos: PhotoList.Of(["ph" + new string('a', 32)])),
        Mode: Mode.Emergency,
        Photos: PhotoList.Of(["ph" + new string('b', 32), "ph" + new string('c', 32)]),
        Key: "w-7:queued-3");

    private static TimelineEntry RoundTrip(TimelineEntry e) => TimelineRows.Read(
        e.Seq, e.Kind.ToString(), e.Actor, e.At.UtcDateTime, e.From.ToString(), e.To.ToString(), TimelineRows.Payload(e));

    [Fact]
    public void The_sample_entry_sets_every_field_so_a_new_field_cannot_be_forgotten()
    {
        // A field added to TimelineEntry is null here until this sample sets it; then the round trip below fails until
        // TimelineRows stores it.
        var unset = typeof(TimelineEntry).GetProperties()
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract" && p.GetValue(Full()) is null)
            .Select(p => p.Name);
        Assert.Empty(unset);
    }

    [Fact]
    public void Every_field_of_an_entry_round_trips()
    {
        var entry = Full();
        Assert.Equal(entry, RoundTrip(entry));
        Assert.Equal(TimeSpan.FromHours(8), RoundTrip(entry).Until!.Value.Offset);
    }

    [Fact]
    public void An_entry_with_only_its_columns_round_trips_and_its_payload_is_empty()
    {
        var entry = new TimelineEntry(3, DateTimeOffset.UnixEpoch, "w-1", IncidentEventKind.WorkStarted, IncidentState.Dispatched, IncidentState.InProgress);
        Assert.Equal("{}", TimelineRows.Payload(entry));
        Assert.Equal(entry, RoundTrip(entry));
    }

    [Fact]
    public void The_payload_keeps_the_old_names_enums_as_strings_and_no_nulls()
    {
        using var payload = JsonDocument.Parse(TimelineRows.Payload(Full() with { Stars = null }));
        var root = payload.RootElement;
        Assert.Equal("Street", root.GetProperty("level").GetString());
        Assert.Equal("Emergency", root.GetProperty("mode").GetString());
        Assert.Equal("Worker", root.GetProperty("assignee").GetProperty("kind").GetString());
        Assert.False(root.TryGetProperty("stars", out _));
        // The intake index reads these two.
        Assert.Equal("app", root.GetProperty("report").GetProperty("source").GetString());
        Assert.Equal("ext-1", root.GetProperty("report").GetProperty("externalId").GetString());
        Assert.False(root.GetProperty("report").GetProperty("reporter").TryGetProperty("name", out _));
    }

    [Fact]
    public void A_payload_the_old_event_log_wrote_reads_with_no_mode_and_no_photos()
    {
        var entry = Full();
        var old = OldWriterPayload(entry);
        Assert.DoesNotContain("mode", old, StringComparison.Ordinal);

        var read = TimelineRows.Read(entry.Seq, "Deferred", entry.Actor, entry.At.UtcDateTime, "Dispatched", "Deferred", old);

        Assert.Equal(entry with { Mode = null, Photos = null, Key = null }, read);
    }

    [Fact]
    public void The_instant_reads_back_as_timestamptz_keeps_it()
    {
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(8)).AddTicks(1_234_567);
        var stored = TimelineRows.AsStored(at);
        Assert.Equal(TimeSpan.Zero, stored.Offset);
        Assert.Equal(at.AddTicks(-7), stored);
    }

    /// <summary>What PostgresIncidentEventLog writes (its anonymous object with its serializer options, verbatim).</summary>
    internal static string OldWriterPayload(TimelineEntry e) => JsonSerializer.Serialize(new
    {
        e.Reason, e.Level, e.UnitCode, e.Assignee, e.Stars, e.Until, e.Deadline, e.Report,
    }, new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    });
}
