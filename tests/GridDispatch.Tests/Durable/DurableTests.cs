using GridDispatch.Domain;
using GridDispatch.Silo.Database;
using Microsoft.Extensions.DependencyInjection;
using GridDispatch.Tests.Infrastructure;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>Against a real PostgreSQL started by the tests (see <see cref="PostgresServer"/>).</summary>
[Collection(PostgresCollection.Name)]
public sealed class DurableTests(PostgresServer postgres)
{
    private static string NewName() => "gd_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Migrations_apply_once_even_when_several_silos_start_together()
    {
        var connection = await postgres.CreateDatabaseAsync(NewName());

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SchemaMigrator.MigrateAsync(connection)));

        Assert.Equal(SchemaMigrator.Migrations.Count, runs.Sum(r => r.Count));
        Assert.Single(runs, r => r.Count > 0);
        Assert.Empty(await SchemaMigrator.MigrateAsync(connection));
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery", db);
        Assert.True((long)(await count.ExecuteScalarAsync())! >= 20);
    }

    [Fact]
    public async Task An_applied_migration_that_was_edited_is_refused()
    {
        var connection = await postgres.CreateDatabaseAsync(NewName());
        await SchemaMigrator.MigrateAsync(connection);
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var tamper = new NpgsqlCommand("UPDATE gd_schema_migrations SET checksum = 'edited' WHERE version = 2", db);
            await tamper.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SchemaMigrator.MigrateAsync(connection));
        Assert.Contains("002_grain_state.sql", error.Message);
    }

    [Fact]
    public async Task State_and_open_deadlines_survive_a_full_restart()
    {
        var connection = await postgres.CreateDatabaseAsync(NewName());
        var settings = new Dictionary<string, string?> { ["GridDispatch:Dispatch:CriticalAcceptanceTimeout"] = "00:00:06" };
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);

        string routineId, criticalId;
        await using (var first = await DurableHost.StartAsync(connection, settings))
        {
            await city.LoadAsync(first.Grains);
            var routine = await first.Grains.ReportAsync(Reports.Make(city.Grid));
            await first.Grains.Incident(routine).StartAsync(new ActorCommand(routine.Assignee!.Id));
            routineId = routine.Id;

            // Not acknowledged: its 6-second acknowledgement deadline is pending when the silo goes away.
            var critical = await first.Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Critical));
            criticalId = critical.Id;
            Assert.Equal(b, critical.Assignee!.Id); // a already carries the routine task
            await first.StopAsync();
        }

        await using var second = await DurableHost.StartAsync(connection, settings);
        var restored = await second.Grains.GetGrain<IIncidentGrain>(routineId).GetAsync();
        Assert.Equal((IncidentState.InProgress, a), (restored.State, restored.Assignee!.Id));
        Assert.Equal(4, restored.Timeline.Length);
        var grid = await second.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync();
        Assert.Equal(2, grid.Roster.Length);
        Assert.Equal(1, (await second.Grains.GetGrain<IWorkerGrain>(a).GetAsync()).Load);

        // Nobody touches the critical incident: only its recorded due time, found by its shard's sweeper, can move it on.
        var moved = await Eventually.Get(() => second.Grains.GetGrain<IWorkerGrain>(a).GetAsync(),
            w => w.Tasks.Any(t => t.IncidentId == criticalId), TimeSpan.FromSeconds(90), "deadline fired after restart");
        Assert.Equal(4, moved.Load); // routine 1 + critical 3
        var incident = await second.Grains.GetGrain<IIncidentGrain>(criticalId).GetAsync();
        Assert.Contains(IncidentEventKind.AcceptanceTimedOut, incident.Kinds());

        // Deadlines are data: the only reminders are the shards' sweepers, none an incident's own.
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var reminders = new NpgsqlCommand("SELECT count(*), count(*) FILTER (WHERE reminder_name = 'sweep' AND grain_id LIKE 'deadlinesweep/%') FROM gd_reminder", db);
        await using var reader = await reminders.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((DeadlineShards.Count, DeadlineShards.Count), (reader.GetInt64(0), reader.GetInt64(1)));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class IncidentEventLogTests(PostgresServer postgres)
{
    [Fact]
    public async Task Every_timeline_entry_is_logged_exactly_once_and_the_log_cannot_be_rewritten()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var host = await DurableHost.StartAsync(connection);
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(host.Grains);

        var view = await host.Grains.ReportAsync(Reports.Make(city.Grid, externalId: "hotline-778"));
        var incident = host.Grains.Incident(view);
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "done"));
        var final = await incident.VerifyAsync(new ActorCommand("supervisor"));

        async Task<List<(int Seq, string Kind)>> Logged()
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT seq, kind FROM incident_events WHERE incident_id = $1 ORDER BY seq", db);
            read.Parameters.AddWithValue(view.Id);
            await using var reader = await read.ExecuteReaderAsync();
            var rows = new List<(int, string)>();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt32(0), reader.GetString(1)));
            }

            return rows;
        }

        var rows = await Eventually.Get(Logged, r => r.Count == final.Timeline.Length, what: "all entries logged");
        Assert.Equal(final.Timeline.Select(e => (e.Seq, e.Kind.ToString())), rows);

        // A re-sent timeline (as after a re-activation) stores nothing twice.
        await incident.RepublishLogAsync();
        await Task.Delay(500);
        Assert.Equal(final.Timeline.Length, (await Logged()).Count);

        await using var conn = new NpgsqlConnection(connection);
        await conn.OpenAsync();
        await using var rewrite = new NpgsqlCommand("UPDATE incident_events SET actor = 'someone else' WHERE incident_id = $1", conn);
        rewrite.Parameters.AddWithValue(view.Id);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => rewrite.ExecuteNonQueryAsync());
        Assert.Contains("append-only", refused.MessageText);
        await using var source = new NpgsqlCommand("SELECT payload -> 'report' ->> 'externalId' FROM incident_events WHERE incident_id = $1 AND seq = 1", conn);
        source.Parameters.AddWithValue(view.Id);
        Assert.Equal("hotline-778", await source.ExecuteScalarAsync());
    }
}

[Collection(PostgresCollection.Name)]
public sealed class DatabaseOutageTests(PostgresServer postgres)
{
    [Fact]
    public async Task Twenty_seconds_without_postgres_lose_no_accepted_incident_and_readiness_recovers_by_itself()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var host = await DurableHost.StartAsync(connection);
        var health = host.Services.GetRequiredService<IEventLogHealth>();
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid], capacity: 500);
        await city.LoadAsync(host.Grains);

        var accepted = new List<string>();
        async Task ReportSome(int count)
        {
            for (var i = 0; i < count; i++)
            {
                try
                {
                    accepted.Add((await host.Grains.ReportAsync(Reports.Make(city.Grid))).Id);
                }
                catch (Exception ex) when (ex is not DomainException)
                {
                    // Refused while the database is away: not accepted, so nothing is owed for it.
                }
            }
        }

        await ReportSome(5);
        Assert.True(await health.DatabaseAnswersAsync());
        var before = accepted.Count;

        await postgres.StopAsync();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Eventually.Get(health.DatabaseAnswersAsync, ok => !ok, TimeSpan.FromSeconds(10), "readiness drops");
            while (outage.Elapsed < TimeSpan.FromSeconds(20))
            {
                await ReportSome(1);
                await Task.Delay(1000);
            }
        }
        finally
        {
            await postgres.StartAsync();
        }

        await Eventually.Get(async () => await health.DatabaseAnswersAsync() && health.IsReady, ok => ok, TimeSpan.FromSeconds(60), "readiness recovers");
        var duringOutage = accepted.Count - before;
        await ReportSome(3);
        Assert.Equal(before + duringOutage + 3, accepted.Count); // intake works again by itself

        // Every incident ever accepted is still there, in the grain and in the event log.
        foreach (var id in accepted)
        {
            var view = await host.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
            Assert.Equal(IncidentState.Dispatched, view.State);
        }

        await Eventually.Get(async () =>
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(DISTINCT incident_id) FROM incident_events WHERE incident_id = ANY($1)", db);
            count.Parameters.AddWithValue(accepted.ToArray());
            return (long)(await count.ExecuteScalarAsync())!;
        }, n => n == accepted.Count, TimeSpan.FromSeconds(30), "every accepted incident in the log");
    }
}
