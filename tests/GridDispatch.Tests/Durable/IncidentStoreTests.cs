using System.Diagnostics;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;
using static GridDispatch.Tests.Durable.StoreUnderTest;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// The PostgreSQL incident store: a timeline appended after the version read, durable when AppendAsync returns, many
/// incidents' appends in one transaction, and no append held back or lost by another's conflict or bad data.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class IncidentStoreTests(PostgresServer postgres, ITestOutputHelper output)
{
    /// <summary>Long enough that appends issued together on a busy machine share one batch.</summary>
    private static readonly IncidentStoreOptions OneBatch = new() { Linger = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public async Task Entries_carrying_every_field_read_back_as_appended()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        var reported = TimelineRowsTests.Full(1) with
        {
            Kind = IncidentEventKind.Reported,
            At = DateTimeOffset.UtcNow, // 100 ns ticks: read back to the microsecond
        };
        var deferred = TimelineRowsTests.Full(2);
        var bare = new TimelineEntry(3, deferred.At, "w-7", IncidentEventKind.WorkStarted, IncidentState.Deferred, IncidentState.InProgress);

        await s.Store.AppendAsync("a-1", 0, [reported, deferred]);
        await s.Store.AppendAsync("a-1", 2, [bare]);

        var expected = new[] { reported, deferred, bare }.Select(e => e with { At = TimelineRows.AsStored(e.At) }).ToArray();
        Assert.Equal(expected, await s.Store.ReadAsync("a-1"));
        Assert.Equal(expected[1..], await s.Store.ReadAsync("a-1", afterSeq: 1));
        Assert.Empty(await s.Store.ReadAsync("a-1", afterSeq: 3));
        Assert.Empty(await s.Store.ReadAsync("a-unknown"));
        var read = (await s.Store.ReadAsync("a-1"))[0];
        Assert.Equal(new Reporter("resident-9", null, null, null), read.Report!.Reporter);
        Assert.Equal(new GeoPoint(31.2304567891234, 121.4737012345678), read.Report.Location);
        Assert.Equal((Mode.Emergency, Assignee.Worker("w-7")), (read.Mode!.Value, read.Assignee!));
        Assert.Equal(TimelineRowsTests.Full().Until, read.Until);
    }

    [Fact]
    public async Task A_grids_open_incidents_are_those_reported_there_and_not_closed_or_cancelled()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        TimelineEntry Reported(string grid) => new(1, DateTimeOffset.UtcNow, "intake", IncidentEventKind.Reported, IncidentState.Reported,
            IncidentState.Reported, Report: new IncidentReport("0101", Severity.Routine, grid, "lamp out", "test", Guid.NewGuid().ToString("N")));
        const string here = "449901001001001", there = "449901001001002";

        await s.Store.AppendAsync("open-1", 0, [Reported(here)]);
        await s.Store.AppendAsync("closed-1", 0, [Reported(here),
            new TimelineEntry(2, DateTimeOffset.UtcNow, "leader", IncidentEventKind.Cancelled, IncidentState.Reported, IncidentState.Cancelled, "duplicate")]);
        await s.Store.AppendAsync("elsewhere-1", 0, [Reported(there)]);

        Assert.Equal(["open-1"], await s.Store.OpenInGridAsync(here, 100));
        Assert.Equal(["elsewhere-1"], await s.Store.OpenInGridAsync(there, 100));
        Assert.Empty(await s.Store.OpenInGridAsync("449901001001003", 100));
    }

    [Fact]
    public async Task Due_times_are_those_of_each_incidents_latest_append()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        await Domain.DueTimesContract.HoldsAsync(s.Store);

        // Only the last row of an append carries the due time, with its shard.
        await using var db = new NpgsqlConnection(s.Connection);
        await db.OpenAsync();
        await using var rows = new NpgsqlCommand("SELECT count(*) FILTER (WHERE due_at IS NOT NULL), count(*) FILTER (WHERE due_shard IS NOT NULL), count(*) FROM incident_events", db);
        await using var reader = await rows.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((5L, 5L, 9L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_appends_after_the_same_version_at_once_one_wins_and_the_timeline_is_the_winners(bool twoSilos)
    {
        var connection = await NewDatabaseAsync(postgres);
        await using var first = await StartAsync(connection);
        await using var second = twoSilos ? await StartAsync(connection) : null;
        var other = second ?? first;
        var winners = new Dictionary<string, int>();
        for (var i = 0; i < 20; i++)
        {
            // Unequal appends (two rows against one), so a timeline mixing both would show.
            var id = $"b-{i}";
            var a = first.Store.AppendAsync(id, 0, Entries(0, 2, actor: "a"));
            var b = other.Store.AppendAsync(id, 0, Entries(0, 1, actor: "b"));
            var outcomes = await Task.WhenAll(Outcome(a), Outcome(b));

            Assert.Single(outcomes, o => o is null);
            var conflict = Assert.IsType<IncidentConflictException>(Assert.Single(outcomes, o => o is not null));
            Assert.Equal((id, 0), (conflict.IncidentId, conflict.ExpectedVersion));
            var winner = outcomes[0] is null ? Entries(0, 2, actor: "a") : Entries(0, 1, actor: "b");
            Assert.Equal(winner, await first.Store.ReadAsync(id));
            winners[winner[0].Actor] = winners.GetValueOrDefault(winner[0].Actor) + 1;
        }

        output.WriteLine($"two silos: {twoSilos}; wins: {string.Join(", ", winners.Select(w => $"{w.Key} {w.Value}"))}");
    }

    [Fact]
    public async Task Two_hundred_incidents_appending_at_once_share_a_few_transactions()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        var (transactions, took) = await AppendAtOnceAsync(s, "c", 200);
        output.WriteLine($"group commit: 200 appends in {transactions} writing transaction(s), {took.TotalMilliseconds:F1} ms");
        Assert.InRange(transactions, 1, 20);

        // The control: one transaction per append, which the same measure must catch.
        await using var single = await StartAsync(s.Connection, new IncidentStoreOptions { MaxBatchRows = 1 });
        var (perAppend, slow) = await AppendAtOnceAsync(single, "c1", 200);
        output.WriteLine($"one transaction per append: 200 appends in {perAppend} writing transactions, {slow.TotalMilliseconds:F1} ms");
        Assert.True(perAppend >= 200, $"{perAppend} transactions for 200 one-row batches");
    }

    private static async Task<(long Transactions, TimeSpan Took)> AppendAtOnceAsync(StoreUnderTest s, string prefix, int count)
    {
        await s.Store.AppendAsync($"{prefix}-warm-up", 0, [Entry(1)]); // a warm connection and JIT-compiled code, for the wall time
        var before = await s.TxidAsync();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => s.Store.AppendAsync($"{prefix}-{i}", 0, [Entry(1)])));
        clock.Stop();

        // Durable when awaited: another connection sees every row now.
        Assert.Equal(count, await s.ScalarAsync("SELECT count(*) FROM incident_events WHERE incident_id LIKE $1 AND incident_id NOT LIKE '%-warm-up'", prefix + "-%"));
        return (await s.TxidAsync() - before - 1, clock.Elapsed);
    }

    [Fact]
    public async Task An_append_postgres_refuses_for_good_fails_alone_and_the_store_carries_on()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), OneBatch);
        var appends = new List<Task>();
        Task? poison = null;
        for (var i = 0; i < 21; i++)
        {
            var append = i == 10
                ? s.Store.AppendAsync("d-poison", 0, [Entry(1, reason: "bad \u0000 reason")]) // jsonb refuses \u0000 (22P05)
                : s.Store.AppendAsync($"d-{i}", 0, [Entry(1)]);
            poison = i == 10 ? append : poison;
            appends.Add(append);
        }

        var outcomes = await Task.WhenAll(appends.Select(Outcome));

        var refused = Assert.IsType<DomainException>(outcomes[10]);
        Assert.Equal(DomainErrors.InvalidInput, refused.Code);
        Assert.Null(refused.Field);
        Assert.Contains("22P05", refused.Message, StringComparison.Ordinal);
        Assert.All(outcomes.Where((_, i) => i != 10), Assert.Null);
        Assert.Equal(20, await s.ScalarAsync("SELECT count(*) FROM incident_events WHERE incident_id LIKE 'd-%'"));
        Assert.Equal(0, await s.ScalarAsync("SELECT count(*) FROM incident_events WHERE incident_id = 'd-poison'"));
        Assert.True(s.Store.IsReady, s.Store.Status);
        Assert.Equal(0, s.Store.Backlog);

        await s.Store.AppendAsync("d-next", 0, [Entry(1)]);
        await s.Store.AppendAsync("d-poison", 0, [Entry(1, reason: "good reason")]);
        Assert.Equal("good reason", Assert.Single(await s.Store.ReadAsync("d-poison")).Reason);
    }

    [Fact]
    public async Task A_conflict_in_the_middle_of_a_batch_fails_only_that_append_and_stores_none_of_its_rows()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), OneBatch);
        using var conflicts = new CounterProbe(s.Meters, "griddispatch.incidentstore.conflicts");
        using var commits = new CounterProbe(s.Meters, "griddispatch.incidentstore.commits");
        await s.Store.AppendAsync("e-busy", 0, [Entry(1, actor: "first")]);

        // Two rows, of which seq 2 is free: it must not be stored alone.
        var appends = Enumerable.Range(0, 10).Select(i => s.Store.AppendAsync($"e-{i}", 0, Entries(0, 2)))
            .Append(s.Store.AppendAsync("e-busy", 0, Entries(0, 2, actor: "late")))
            .Concat(Enumerable.Range(10, 10).Select(i => s.Store.AppendAsync($"e-{i}", 0, Entries(0, 2))))
            .ToList();
        var outcomes = await Task.WhenAll(appends.Select(Outcome));

        Assert.IsType<IncidentConflictException>(outcomes[10]);
        Assert.All(outcomes.Where((_, i) => i != 10), Assert.Null);
        Assert.Equal(40, await s.ScalarAsync("SELECT count(*) FROM incident_events WHERE incident_id LIKE 'e-%' AND incident_id <> 'e-busy'"));
        Assert.Equal([Entry(1, actor: "first")], await s.Store.ReadAsync("e-busy"));
        Assert.Equal(1, conflicts.Total);
        output.WriteLine($"commits for the 20 good appends: {commits.Total}");
    }

    [Fact]
    public async Task A_row_the_old_event_log_wrote_reads_back_and_its_timeline_takes_the_next_append()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        var old = TimelineRowsTests.Full(1);
        await using (var db = new NpgsqlConnection(s.Connection))
        {
            await db.OpenAsync();
            await using var insert = new NpgsqlCommand("""
                INSERT INTO incident_events (incident_id, seq, kind, actor, at, from_state, to_state, payload)
                VALUES ('f-old', 1, 'Deferred', $1, $2, 'Dispatched', 'Deferred', $3::jsonb)
                """, db);
            insert.Parameters.AddWithValue(old.Actor);
            insert.Parameters.AddWithValue(old.At.UtcDateTime);
            insert.Parameters.AddWithValue(TimelineRowsTests.OldWriterPayload(old));
            await insert.ExecuteNonQueryAsync();
        }

        Assert.Equal([old with { Mode = null, Photos = null, Key = null }], await s.Store.ReadAsync("f-old"));

        await s.Store.AppendAsync("f-old", 1, [Entry(2)]);
        Assert.Equal([1, 2], (await s.Store.ReadAsync("f-old")).Select(e => e.Seq));
    }
}
