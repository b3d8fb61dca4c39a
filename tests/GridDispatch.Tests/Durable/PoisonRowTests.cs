using System.Diagnostics.Metrics;
using System.Text;
using GridDispatch.Api.Audit;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>A row PostgreSQL refuses for good is set aside; it never blocks the writers, their buffers or readiness.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PoisonRowTests(PostgresServer postgres)
{
    private static string NewName() => "gd_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task A_timeline_entry_postgres_always_refuses_is_dead_lettered_and_the_log_carries_on()
    {
        var connection = await postgres.CreateDatabaseAsync(NewName());
        await using var host = await DurableHost.StartAsync(connection);
        var health = host.Services.GetRequiredService<IEventLogHealth>();
        using var deadLetters = new CounterProbe(host.Services.GetRequiredService<IMeterFactory>(), "griddispatch.eventlog.dead_letters");
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid], capacity: 50);
        await city.LoadAsync(host.Grains);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await host.Grains.ReportAsync(Reports.Make(city.Grid))).Id);
        }

        // The grain takes a NUL in a reason (the API is what refuses control characters); the entry's payload then
        // holds the JSON escape \u0000, which jsonb refuses every time (22P05). The timeline is the incident's store:
        // the command is refused, nothing of it is kept, and the other appends of its batch go on.
        var poisoned = await host.Grains.ReportAsync(Reports.Make(city.Grid));
        var refused = await Assert.ThrowsAsync<DomainException>(() => host.Grains.Incident(poisoned).CancelAsync(new ActorCommand("leader", "bad \u0000 reason")));
        Assert.Contains("22P05", refused.Message, StringComparison.Ordinal);
        var unchanged = await host.Grains.Incident(poisoned).GetAsync();
        Assert.Equal((poisoned.Version, poisoned.State), (unchanged.Version, unchanged.State));
        var badSeq = unchanged.Timeline.Length + 1;

        // The old event log (it still hands legacy incidents' timelines over) sets such an entry aside instead.
        var cancelled = unchanged with { Timeline = [.. unchanged.Timeline, new TimelineEntry(badSeq, DateTimeOffset.UtcNow, "leader",
            IncidentEventKind.Cancelled, unchanged.State, IncidentState.Cancelled, "bad \u0000 reason")] };
        host.Services.GetRequiredService<GridDispatch.Domain.IIncidentEventSink>().Append(poisoned.Id, [cancelled.Timeline[^1]]);

        // Entries queued behind the bad one, in later batches.
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await host.Grains.ReportAsync(Reports.Make(city.Grid))).Id);
        }

        var expected = new Dictionary<string, int>();
        foreach (var id in ids)
        {
            expected[id] = (await host.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).Timeline.Length;
        }

        expected[poisoned.Id] = cancelled.Timeline.Length - 1;

        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        async Task<Dictionary<string, int>> Logged()
        {
            await using var count = new NpgsqlCommand(
                "SELECT incident_id, count(*)::int FROM incident_events WHERE incident_id = ANY($1) GROUP BY incident_id", db);
            count.Parameters.AddWithValue(expected.Keys.ToArray());
            await using var reader = await count.ExecuteReaderAsync();
            var counts = new Dictionary<string, int>();
            while (await reader.ReadAsync())
            {
                counts[reader.GetString(0)] = reader.GetInt32(1);
            }

            return counts;
        }

        await Eventually.Get(Logged, counts => expected.All(e => counts.GetValueOrDefault(e.Key) == e.Value), TimeSpan.FromSeconds(30),
            "every good entry, including those behind the bad one, in incident_events");
        await using (var missing = new NpgsqlCommand("SELECT count(*) FROM incident_events WHERE incident_id = $1 AND seq = $2", db))
        {
            missing.Parameters.AddWithValue(poisoned.Id);
            missing.Parameters.AddWithValue(badSeq);
            Assert.Equal(0L, await missing.ExecuteScalarAsync());
        }

        await using (var read = new NpgsqlCommand(
            "SELECT seq, kind, actor, sql_state, error, payload FROM incident_event_dead_letters WHERE incident_id = $1", db))
        {
            read.Parameters.AddWithValue(poisoned.Id);
            await using var reader = await read.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync(), "the bad entry is in incident_event_dead_letters");
            Assert.Equal((badSeq, "Cancelled", "leader"), (reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
            Assert.StartsWith("22", reader.GetString(3), StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(reader.GetString(4)));
            Assert.Contains("bad \\u0000 reason", reader.GetString(5), StringComparison.Ordinal);
            Assert.False(await reader.ReadAsync(), "only the bad entry is set aside");
        }

        var oldLog = host.Services.GetRequiredService<PostgresIncidentEventLog>();
        await Eventually.Get(() => Task.FromResult((health.IsReady, oldLog.IsReady, oldLog.Backlog)), h => h is (true, true, 0), TimeSpan.FromSeconds(10),
            "readiness and an empty backlog");
        Assert.Equal(1, deadLetters.Total);

        // Handed over again, the bad entry is set aside once, and the log stays ready.
        host.Services.GetRequiredService<GridDispatch.Domain.IIncidentEventSink>().Append(poisoned.Id, [cancelled.Timeline[^1]]);
        await Eventually.Get(() => Task.FromResult(oldLog.Backlog), b => b == 0, TimeSpan.FromSeconds(10), "the re-sent entry written");
        await using (var once = new NpgsqlCommand("SELECT count(*) FROM incident_event_dead_letters", db))
        {
            Assert.Equal(1L, await once.ExecuteScalarAsync());
        }

        Assert.True(health.IsReady && oldLog.IsReady);
        Assert.Equal(1, deadLetters.Total);
    }

    [Fact]
    public async Task An_audit_entry_with_a_nul_character_is_stored_escaped_and_does_not_hold_up_the_next()
    {
        var connection = await postgres.CreateDatabaseAsync(NewName());
        await SchemaMigrator.MigrateAsync(connection);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var dropped = new CounterProbe(meters, "griddispatch.audit.dropped");
        var audit = new PostgresAuditLog(new DatabaseOptions { ConnectionString = connection }, meters, NullLogger<PostgresAuditLog>.Instance);
        await audit.StartAsync(CancellationToken.None);
        try
        {
            var at = DateTimeOffset.UtcNow;
            audit.Append(new AuditEntry(at, "hostile-1", "resident", "", "4499", "POST /api/incidents", "/api/incidents/a\0b", "127.0.0.1", 400));
            audit.Append(new AuditEntry(at.AddMilliseconds(1), "resident-2", "resident", "", "4499", "POST /api/incidents", "/api/incidents", "127.0.0.1", 201));

            var rows = await Eventually.Get(() => audit.QueryAsync("4499", null, 10, CancellationToken.None), r => r.Count == 2,
                TimeSpan.FromSeconds(20), "both entries in audit_log");
            Assert.Equal(new[] { "resident-2", "hostile-1" }, rows.Select(r => r.Actor));
            Assert.Equal("/api/incidents/a\\u0000b", rows[1].Target);
            Assert.Equal(0, dropped.Total);
        }
        finally
        {
            await audit.StopAsync(CancellationToken.None);
        }
    }
}

/// <summary>Which failures the writers set aside (never retried) and which they keep retrying.</summary>
public sealed class PostgresErrorsTests
{
    private static PostgresException Error(string sqlState) => new("message", "ERROR", "ERROR", sqlState);

    [Theory]
    [InlineData("22P05", true)]     // untranslatable character (\u0000 in jsonb)
    [InlineData("22001", true)]     // string too long for its column
    [InlineData("22021", true)]     // character not in repertoire (NUL in text)
    [InlineData("22P02", true)]     // invalid text representation
    [InlineData("23505", true)]     // unique violation not absorbed by ON CONFLICT
    [InlineData("23502", true)]     // not-null violation
    [InlineData("54000", true)]     // program limit exceeded
    [InlineData("08006", false)]    // connection failure
    [InlineData("57P01", false)]    // administrator shut the server down
    [InlineData("53300", false)]    // too many connections
    [InlineData("40001", false)]    // serialization failure
    [InlineData("P0001", false)]    // raised by a trigger (e.g. append-only)
    public void A_database_error_is_permanent_only_when_the_data_itself_is_refused(string sqlState, bool permanent)
    {
        Assert.Equal(permanent, PostgresErrors.IsPermanent(Error(sqlState)));
        Assert.Equal(permanent, PostgresErrors.IsPermanent(sqlState));
    }

    [Fact]
    public void Client_side_failures_are_permanent_only_when_the_text_cannot_be_encoded()
    {
        Assert.True(PostgresErrors.IsPermanent(new EncoderFallbackException("unpaired surrogate")));
        Assert.False(PostgresErrors.IsPermanent(new NpgsqlException("connection refused", new System.Net.Sockets.SocketException())));
        Assert.False(PostgresErrors.IsPermanent(new TimeoutException()));
        Assert.False(PostgresErrors.IsPermanent(new OperationCanceledException()));
    }

    // Facts, not inline data: a NUL or an unpaired surrogate would not survive the test runner's serialisation.
    [Fact]
    public void Text_is_made_storable_in_a_varchar_column()
    {
        Assert.Equal("plain", PostgresText.Clean("plain", 10));
        Assert.Equal("a\\u0000b", PostgresText.Clean("a\0b", 10));
        Assert.Equal("abc", PostgresText.Clean("abcdef", 3));
        Assert.Equal("ab", PostgresText.Clean("ab\uD83D\uDE00", 3));                 // a surrogate pair is never split
        Assert.Equal("ab\uD83D\uDE00", PostgresText.Clean("ab\uD83D\uDE00", 4));
        Assert.Equal("a\uFFFDb\uFFFD", PostgresText.Clean("a\uD800b\uDC00", 10));   // UTF-8 cannot encode these
    }
}

/// <summary>Sums one counter of the GridDispatch meter of one host (its meter factory), whatever other hosts record.</summary>
internal sealed class CounterProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterProbe(IMeterFactory factory, string instrument)
    {
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (i.Meter.Name == GridDispatch.Silo.GridDispatchMeter.Name && ReferenceEquals(i.Meter.Scope, factory) && i.Name == instrument)
            {
                listener.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
