using GridDispatch.Domain;
using GridDispatch.Incidents;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// A database written by the version before the timeline became the store opens in this one: an incident then was a
/// state row (grain state "incident", the whole record with its timeline and the reporter's contact inside), with a
/// reminder for its next deadline. The open incident reads back with its assignee and deadlines, its deadline still
/// fires, and from its first command on its timeline is its store.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class UpgradeTests(PostgresServer postgres)
{
    [Fact]
    public async Task An_open_incident_stored_as_a_state_row_by_the_old_version_keeps_its_assignee_and_deadlines()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var city = TestCity.Create();
        var holder = city.AddWorker("holder", [city.Grid]);
        var next = city.AddWorker("next", [city.Grid]);
        var id = IncidentIds.New();
        var reported = DateTimeOffset.UtcNow.AddMinutes(-3);
        var acknowledgeBy = DateTimeOffset.UtcNow.AddSeconds(5);
        var handleBy = reported.AddDays(3);
        var report = Reports.Make(city.Grid) with { Reporter = new Reporter("resident-9", "Li Na", "13900000000", "Unit 3") };

        await using (var old = await DurableHost.StartAsync(connection))
        {
            await city.LoadAsync(old.Grains);

            // The row exactly as the old version wrote it: the record, folded from its entries, contact and all.
            var record = new IncidentRecord();
            record.Apply(new TimelineEntry(1, reported, "intake", IncidentEventKind.Reported, IncidentState.Reported, IncidentState.Reported,
                "reported via test", Report: report));
            record.Apply(new TimelineEntry(2, reported, "system:intake", IncidentEventKind.Accepted, IncidentState.Reported, IncidentState.Accepted,
                Until: handleBy, Mode: Mode.Everyday));
            record.Apply(new TimelineEntry(3, reported, "system", IncidentEventKind.Dispatched, IncidentState.Accepted, IncidentState.Dispatched,
                Level: RegionLevel.Grid, UnitCode: city.Grid, Assignee: Assignee.Worker(holder), Until: acknowledgeBy));
            record.ReminderDueAt = acknowledgeBy;
            var storage = old.Services.GetRequiredKeyedService<IGrainStorage>(GridDispatchStorage.Name);
            await storage.WriteStateAsync("incident", GrainId.Create("incident", id), new GrainState<IncidentRecord>(record));
            await old.StopAsync();
        }

        await using var upgraded = await DurableHost.StartAsync(connection);
        var view = await upgraded.Grains.GetGrain<IIncidentGrain>(id).GetAsync();

        Assert.Equal((IncidentState.Dispatched, holder, 3), (view.State, view.Assignee!.Id, view.Version));
        Assert.Equal(acknowledgeBy, view.Deadlines[DeadlineKind.TaskAcceptance]);
        Assert.Equal(handleBy, view.Deadlines[DeadlineKind.Handle]);
        Assert.Equal(report.Description, view.Description);
        Assert.Equal("Li Na", view.Reporter!.Name);     // moved to the personal-data store, still shown

        // Its acknowledgement deadline passes: the incident moves on to the other worker, appending to its timeline.
        var moved = await Eventually.Get(() => upgraded.Grains.GetGrain<IIncidentGrain>(id).GetAsync(),
            v => v.Timeline.Any(e => e.Kind == IncidentEventKind.AcceptanceTimedOut), TimeSpan.FromSeconds(20), "the old deadline fired");
        Assert.Equal(next, moved.Assignee!.Id);

        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var rows = new NpgsqlCommand("SELECT seq, kind FROM incident_events WHERE incident_id = @id ORDER BY seq", db);
        rows.Parameters.AddWithValue("id", id);
        var stored = new List<(int Seq, string Kind)>();
        await using (var reader = await rows.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }

        // The old entries reached incident_events (handed over once), and the new ones follow them without a gap (the
        // first activation also recorded the next due time as data).
        Assert.Equal(Enumerable.Range(1, (int)moved.Version), stored.Select(r => r.Seq));
        Assert.Equal(["Reported", "Accepted", "Dispatched"], stored.Take(3).Select(r => r.Kind));
        Assert.Contains(stored.Skip(3), r => r.Kind == "AcceptanceTimedOut");
        await using var contact = new NpgsqlCommand("SELECT count(*) FROM incident_events WHERE incident_id = @id AND payload::text LIKE '%13900000000%'", db);
        contact.Parameters.AddWithValue("id", id);
        Assert.Equal(0L, (long)(await contact.ExecuteScalarAsync())!);
    }
}
