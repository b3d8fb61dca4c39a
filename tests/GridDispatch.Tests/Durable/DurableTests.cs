using GridDispatch.Silo.Database;
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

        // Nobody touches the critical incident: only the durable reminder can move it to the other worker.
        var moved = await Eventually.Get(() => second.Grains.GetGrain<IWorkerGrain>(a).GetAsync(),
            w => w.Tasks.Any(t => t.IncidentId == criticalId), TimeSpan.FromSeconds(90), "reminder fired after restart");
        Assert.Equal(4, moved.Load); // routine 1 + critical 3
        var incident = await second.Grains.GetGrain<IIncidentGrain>(criticalId).GetAsync();
        Assert.Contains(IncidentEventKind.AcceptanceTimedOut, incident.Kinds());
    }
}
