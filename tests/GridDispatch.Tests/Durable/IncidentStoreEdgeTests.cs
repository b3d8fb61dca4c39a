using GridDispatch.Domain;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using static GridDispatch.Tests.Durable.StoreUnderTest;

namespace GridDispatch.Tests.Durable;

/// <summary>The incident store at its edges: a full queue, a missing database, gaps, intake keys, retries, shutdown.</summary>
[Collection(PostgresCollection.Name)]
public sealed class IncidentStoreEdgeTests(PostgresServer postgres)
{
    private static readonly Serializer Orleans = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private static readonly IncidentStoreOptions OneBatch = new() { Linger = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public async Task A_full_queue_makes_appends_wait_and_drops_none()
    {
        var options = new IncidentStoreOptions { Capacity = 4, MaxBatchRows = 3 };
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), options);
        var appends = Enumerable.Range(0, 300).Select(i => s.Store.AppendAsync($"g-{i}", 0, [Entry(1)])).ToList();
        Assert.InRange(s.Store.Backlog, 0, 4 + 3 * options.WritersInFlight);     // the queue, and the batches committing

        await Task.WhenAll(appends);

        Assert.Equal(300, await s.ScalarAsync("SELECT count(*) FROM incident_events"));
    }

    [Fact]
    public async Task A_queue_over_nine_tenths_full_is_not_ready_and_empties_when_the_database_moves_again()
    {
        var options = new IncidentStoreOptions { Capacity = 10, MaxBatchRows = 5 };
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), options);
        await using var locker = new NpgsqlConnection(s.Connection);
        await locker.OpenAsync();
        var hold = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE incident_events IN EXCLUSIVE MODE", locker, hold))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var appends = Enumerable.Range(0, 30).Select(i => s.Store.AppendAsync($"n-{i}", 0, [Entry(1)])).ToList();
        await Eventually.Get(() => Task.FromResult(s.Store.IsReady), ready => !ready, TimeSpan.FromSeconds(5), "not ready while the queue is full");
        Assert.Contains("queued", s.Store.Status, StringComparison.Ordinal);
        Assert.InRange(s.Store.Backlog, 10, 10 + 5 * options.WritersInFlight);

        await hold.RollbackAsync();
        await Task.WhenAll(appends);
        Assert.True(s.Store.IsReady, s.Store.Status);
        Assert.Equal(30, await s.ScalarAsync("SELECT count(*) FROM incident_events"));
    }

    [Fact]
    public async Task Without_its_database_the_store_refuses_with_an_error_that_crosses_silos_and_recovers_by_itself()
    {
        var connection = await NewDatabaseAsync(postgres);
        var missing = new NpgsqlConnectionStringBuilder(connection) { Database = "gd_missing_" + Guid.NewGuid().ToString("N")[..8] }.ConnectionString;
        await using var s = await StartAsync(missing, new IncidentStoreOptions { RetryAttempts = 1, RetryDelay = TimeSpan.FromMilliseconds(10) });

        var append = await Assert.ThrowsAsync<StoreUnavailableException>(() => s.Store.AppendAsync("h-1", 0, [Entry(1)]));
        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => s.Store.ReadAsync("h-1"));
        Assert.IsNotAssignableFrom<NpgsqlException>(append.InnerException);
        Assert.Contains("3D000", append.InnerException!.Message, StringComparison.Ordinal);
        Assert.False(s.Store.IsReady);
        Assert.Contains("failing", s.Store.Status, StringComparison.Ordinal);
        Assert.False(await s.Store.DatabaseAnswersAsync());

        // Both cross a silo boundary intact (an NpgsqlException inside would not).
        var copy = Orleans.Deserialize<StoreUnavailableException>(Orleans.SerializeToArray(append))!;
        Assert.Equal((append.Message, append.InnerException.Message), (copy.Message, copy.InnerException?.Message));
        Assert.Equal(read.Message, Orleans.Deserialize<StoreUnavailableException>(Orleans.SerializeToArray(read))!.Message);

        // The database appears: the store's own probe finds it, with no append to prove it.
        await using (var admin = new NpgsqlConnection(connection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{new NpgsqlConnectionStringBuilder(missing).Database}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        await SchemaMigrator.MigrateAsync(missing);
        await Eventually.Get(() => Task.FromResult(s.Store.IsReady), ready => ready, TimeSpan.FromSeconds(10), "ready again");
        await s.Store.AppendAsync("h-1", 0, [Entry(1)]);
        Assert.Single(await s.Store.ReadAsync("h-1"));
    }

    [Fact]
    public async Task An_append_after_a_version_only_a_legacy_snapshot_holds_is_taken_and_the_old_log_fills_in_below()
    {
        // An incident from before the store: its state row holds entries 1-3, which the old event log writes later.
        await using var s = await StartAsync(await NewDatabaseAsync(postgres));
        await s.Store.AppendAsync("i-1", 3, Entries(3, 1));
        await using (var db = new NpgsqlConnection(s.Connection))
        {
            await db.OpenAsync();
            await using var oldLog = new NpgsqlCommand("""
                INSERT INTO incident_events (incident_id, seq, kind, actor, at, from_state, to_state, payload)
                SELECT 'i-1', seq, 'Accepted', 'leader', now(), 'Reported', 'Accepted', '{}' FROM generate_series(1, 3) seq
                ON CONFLICT (incident_id, seq) DO NOTHING
                """, db);
            await oldLog.ExecuteNonQueryAsync();
        }

        Assert.Equal([1, 2, 3, 4], (await s.Store.ReadAsync("i-1")).Select(e => e.Seq));
        await Assert.ThrowsAsync<IncidentConflictException>(() => s.Store.AppendAsync("i-1", 3, Entries(3, 1, actor: "stale")));
        await Assert.ThrowsAsync<ArgumentException>(() => s.Store.AppendAsync("i-1", 4, Entries(5, 1))); // misnumbered
    }

    [Fact]
    public async Task An_append_whose_very_rows_are_stored_already_succeeded_and_one_with_other_rows_conflicts()
    {
        // What a retry finds when the commit succeeded but its answer was lost.
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), OneBatch);
        var mine = new[] { Entry(1) with { At = DateTimeOffset.UtcNow }, TimelineRowsTests.Full(2) };
        await s.Store.AppendAsync("j-1", 0, mine);

        await Task.WhenAll(s.Store.AppendAsync("j-1", 0, mine), s.Store.AppendAsync("j-2", 0, [Entry(1)]));
        await Assert.ThrowsAsync<IncidentConflictException>(() => s.Store.AppendAsync("j-1", 0, [mine[0], mine[1] with { Reason = "other" }]));
        Assert.Equal(2, (await s.Store.ReadAsync("j-1")).Count);
    }

    [Fact]
    public async Task A_second_incident_with_the_same_intake_key_fails_alone_with_a_refusal()
    {
        await using var s = await StartAsync(await NewDatabaseAsync(postgres), OneBatch);
        var report = new IncidentReport("0101", Severity.Routine, "449901001001001", "lamp", "open311", "req-1");
        TimelineEntry Reported() => Entry(1) with { Report = report };

        var outcomes = await Task.WhenAll(new[]
        {
            s.Store.AppendAsync("k-1", 0, [Reported()]),
            s.Store.AppendAsync("k-good-1", 0, [Entry(1)]),
            s.Store.AppendAsync("k-2", 0, [Reported()]),
            s.Store.AppendAsync("k-good-2", 0, [Entry(1)]),
        }.Select(Outcome));

        Assert.Equal([null, null], new[] { outcomes[1], outcomes[3] });
        var refused = Assert.IsType<DomainException>(Assert.Single(new[] { outcomes[0], outcomes[2] }, o => o is not null));
        Assert.Equal(DomainErrors.Conflict, refused.Code);
        Assert.Equal(3, await s.ScalarAsync("SELECT count(*) FROM incident_events"));
        Assert.Equal(refused.Message, Orleans.Deserialize<DomainException>(Orleans.SerializeToArray(refused))!.Message);
    }

    [Fact]
    public async Task Stopping_commits_what_is_queued_and_refuses_what_comes_after()
    {
        var s = await StartAsync(await NewDatabaseAsync(postgres), OneBatch);
        var queued = Enumerable.Range(0, 50).Select(i => s.Store.AppendAsync($"l-{i}", 0, [Entry(1)])).ToList();

        await s.DisposeAsync();

        await Task.WhenAll(queued);
        Assert.Equal(50, await s.ScalarAsync("SELECT count(*) FROM incident_events"));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => s.Store.AppendAsync("l-late", 0, [Entry(1)]));
    }

    [Fact]
    public async Task The_durable_silo_runs_the_store_with_its_lifecycle_and_settings()
    {
        await using var host = await DurableHost.StartAsync(await NewDatabaseAsync(postgres, migrate: false),
            new Dictionary<string, string?> { ["GridDispatch:IncidentStore:MaxBatchRows"] = "7" });
        var store = Assert.IsType<PostgresIncidentStore>(host.Services.GetRequiredService<IIncidentStore>());
        Assert.Equal(7, host.Services.GetRequiredService<IncidentStoreOptions>().MaxBatchRows);

        await store.AppendAsync("m-1", 0, Entries(0, 2)).WaitAsync(TimeSpan.FromSeconds(10)); // the writer runs
        Assert.Equal(2, (await store.ReadAsync("m-1")).Count);
        Assert.True(store.IsReady);
    }
}
