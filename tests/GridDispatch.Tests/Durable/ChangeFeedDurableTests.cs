using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// The change feed on PostgreSQL: a reader that follows by cursor while incidents are reported and dispatched, and goes
/// on with the same cursor after the host restarted, has read every row of incident_events exactly once, each incident's
/// in sequence order.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ChangeFeedDurableTests(PostgresServer postgres)
{
    private const string Grid = "449901001001002";

    private static async Task<WebApplication> StartAsync(string connection)
    {
        var app = GridDispatchApi.Create(ApiFixture.HostArgs(connection), RepoPaths.ApiProject);
        await app.StartAsync();
        return app;
    }

    private static HttpClient Client(WebApplication app, string id, string role, string? scope = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", ApiFixture.Sign(id, role, scope));
        return http;
    }

    private static async Task ReportAsync(HttpClient resident, int count, string batch) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, ct) =>
        {
            var reported = await resident.PostAsJsonAsync("/api/incidents",
                new { category = "0101", severity = "routine", gridCode = Grid, description = $"feed {batch} {i}", externalId = $"{batch}-{i}", source = "feed-test" }, ct);
            Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        });

    private sealed class Reader
    {
        public List<(string Id, int Seq)> Seen { get; } = [];

        public string Since { get; private set; } = "";

        /// <summary>One page; true when the feed says there is more to read now.</summary>
        public async Task<bool> PageAsync(HttpClient http, int limit)
        {
            var response = await http.GetAsync($"/api/events?region=4499&limit={limit}&since={Uri.EscapeDataString(Since)}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Seen.AddRange(page["items"]!.AsArray().Select(i => (i!["incidentId"]!.GetValue<string>(), i["entry"]!["seq"]!.GetValue<int>())));
            Since = page["next"]!.GetValue<string>();
            return page["more"]!.GetValue<bool>();
        }
    }

    private static async Task<List<(string Id, int Seq)>> RowsAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT incident_id, seq FROM incident_events", db);
        await using var rows = await read.ExecuteReaderAsync();
        var all = new List<(string, int)>();
        while (await rows.ReadAsync())
        {
            all.Add((rows.GetString(0), rows.GetInt32(1)));
        }

        return all;
    }

    [Fact]
    public async Task A_reader_following_by_cursor_through_writes_and_a_restart_reads_every_row_once()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var reader = new Reader();
        await using (var first = await StartAsync(connection))
        {
            using var resident = Client(first, "resident-feed", "resident");
            using var commander = Client(first, "commander-feed", "commander", "4499");
            // Read while the writes go on, in pages smaller than what is written between two reads.
            var writes = ReportAsync(resident, 40, "a");
            while (!writes.IsCompleted)
            {
                await reader.PageAsync(commander, 7);
            }

            await writes;
            for (var i = 0; i < 3; i++)
            {
                await reader.PageAsync(commander, 7);      // and stop somewhere in the middle
            }

            Assert.NotEmpty(reader.Seen);
            await first.StopAsync();
        }

        await using var second = await StartAsync(connection);
        using var resident2 = Client(second, "resident-feed", "resident");
        using var commander2 = Client(second, "commander-feed", "commander", "4499");
        await ReportAsync(resident2, 15, "b");

        // Once nothing is written any more (dispatch has run its course), the reader comes to the end of the feed.
        var count = -1;
        for (var quiet = 0; quiet < 3;)
        {
            await Task.Delay(500);
            var now = (await RowsAsync(connection)).Count;
            quiet = now == count ? quiet + 1 : 0;
            count = now;
        }

        while (await reader.PageAsync(commander2, 50))
        {
        }

        var stored = await RowsAsync(connection);
        Assert.True(stored.Count > 55 * 2, $"only {stored.Count} rows were written");
        Assert.Equal(reader.Seen.Count, reader.Seen.Distinct().Count());
        Assert.Equal(stored.ToHashSet(), reader.Seen.ToHashSet());
        Assert.All(reader.Seen.GroupBy(k => k.Id), g => Assert.Equal(g.Select(k => k.Seq).Order(), g.Select(k => k.Seq)));
        await second.StopAsync();
    }

    [Fact]
    public async Task Rows_committed_after_an_older_transaction_wait_for_it_so_its_row_is_not_skipped()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var app = await StartAsync(connection);
        using var resident = Client(app, "resident-held", "resident");
        using var commander = Client(app, "commander-held", "commander", "4499");
        var reader = new Reader();
        while (await reader.PageAsync(commander, 100))
        {
        }

        // An older transaction that has written a row and not committed yet (a group commit in flight, slowed down).
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var held = await db.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO incident_events (incident_id, seq, kind, actor, at, from_state, to_state, payload)
            VALUES ('held-1', 1, 'Reported', 'intake', now(), 'Reported', 'Reported',
                    '{"report":{"category":"0101","severity":"Routine","gridCode":"449901001001002","description":"held","source":"feed-test","externalId":"held-1"}}')
            """, db, held))
        {
            await insert.ExecuteNonQueryAsync();
        }

        // Younger transactions commit meanwhile: the feed holds their rows back while the older one may still commit.
        await ReportAsync(resident, 3, "young");
        await Task.Delay(1000);
        while (await reader.PageAsync(commander, 100))
        {
        }

        Assert.Empty(reader.Seen);
        await held.CommitAsync();
        await Eventually.Get(async () =>
        {
            while (await reader.PageAsync(commander, 100))
            {
            }

            return reader.Seen.Count;
        }, n => n > 3, TimeSpan.FromSeconds(10), "the rows once the older transaction committed");
        Assert.Contains(("held-1", 1), reader.Seen);
        Assert.Equal(reader.Seen.Count, reader.Seen.Distinct().Count());
        await app.StopAsync();
    }
}
