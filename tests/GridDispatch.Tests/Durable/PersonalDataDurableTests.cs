using GridDispatch.Tests.Infrastructure;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>On PostgreSQL the reporter's contact is a row of its own: the append-only log never holds it, erasure blanks it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PersonalDataDurableTests(PostgresServer postgres)
{
    [Fact]
    public async Task The_contact_is_stored_apart_from_the_log_survives_a_restart_and_is_erased_without_touching_the_log()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var city = TestCity.Create();
        city.AddWorker("a", [city.Grid]);
        string id;
        await using (var first = await DurableHost.StartAsync(connection))
        {
            await city.LoadAsync(first.Grains);
            id = (await first.Grains.ReportAsync(Reports.Make(city.Grid))).Id;
        }

        async Task<T> ScalarAsync<T>(string sql)
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand(sql, db);
            command.Parameters.AddWithValue(id);
            return await command.ExecuteScalarAsync() is T value ? value : default!;
        }

        await using (var second = await DurableHost.StartAsync(connection))
        {
            var incident = second.Grains.GetGrain<IIncidentGrain>(id);
            Assert.Equal("13800000000", (await incident.GetAsync()).Reporter!.Phone);     // read back from its table after the restart

            // The log's report entry has the reporter's id and nothing else of them; the contact is in its own table.
            var payload = await Eventually.Get(() => ScalarAsync<string?>("SELECT payload::text FROM incident_events WHERE incident_id = $1 AND kind = 'Reported'"),
                p => p is not null, what: "the report in the log");
            Assert.Contains("resident-1", payload!, StringComparison.Ordinal);
            Assert.DoesNotContain("13800000000", payload, StringComparison.Ordinal);
            Assert.DoesNotContain("Building 1", payload, StringComparison.Ordinal);
            Assert.Equal("13800000000", await ScalarAsync<string>("SELECT phone FROM incident_personal_data WHERE incident_id = $1"));
            var erased = await incident.ErasePersonalDataAsync(new ActorCommand("admin-district", "the resident asked"));
            Assert.Null(erased.Reporter!.Phone);
            Assert.Equal(IncidentEventKind.PersonalDataErased, erased.Timeline[^1].Kind);
            await Eventually.Get(() => ScalarAsync<long>("SELECT count(*) FROM incident_events WHERE incident_id = $1"), n => n == erased.Timeline.Length,
                TimeSpan.FromSeconds(20), "every entry, the erasure too, in the log");
            Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = 'PersonalDataErased'"));
        }

        Assert.Equal("admin-district", await ScalarAsync<string>("SELECT erased_by FROM incident_personal_data WHERE incident_id = $1"));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM incident_personal_data WHERE incident_id = $1 AND (phone IS NOT NULL OR name IS NOT NULL OR address IS NOT NULL)"));
        await using var third = await DurableHost.StartAsync(connection);
        Assert.Equal(new Reporter("resident-1", null, null, null), (await third.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).Reporter);
    }
}
