using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>
/// GET /api/events on the embedded store: a region's supervisor follows every entry of its incidents by cursor, pages
/// of any size give the same entries once each in each incident's order, filters narrow it, a department reads only its
/// categories without reporters, and whoever may not read the region is refused.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ChangeFeedTests(ApiFixture api)
{
    private async Task<(TestCity City, List<string> Incidents)> CityWithIncidentsAsync()
    {
        var city = TestCity.Create(communities: 2);
        city.AddWorker("feed", [.. city.Grids]);
        await city.LoadAsync(api.Grains);
        using var resident = api.As($"resident-{city.Code}", "resident");
        var ids = new List<string>();
        foreach (var (grid, category) in new[] { (city.Grids[0], "0101"), (city.Grids[1], "0301"), (city.Grids[0], "0102") })
        {
            var reported = await resident.PostAsJsonAsync("/api/incidents", new
            {
                category, severity = "routine", gridCode = grid, description = "followed by the feed",
                reporter = new { name = "王芳", phone = "13800000000" }, location = new { latitude = 22.543210, longitude = 114.057891 },
            });
            Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
            ids.Add((await reported.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        }

        // Each is accepted and offered to the worker (a few entries each) before the feed is read.
        foreach (var id in ids)
        {
            await Eventually.Get(() => api.Grains.GetGrain<IIncidentGrain>(id).GetAsync(), v => v.Assignee is not null, what: $"{id} dispatched");
        }

        return (city, ids);
    }

    private static async Task<List<JsonObject>> ReadAllAsync(HttpClient http, string query, int limit)
    {
        var items = new List<JsonObject>();
        var since = "";
        for (var calls = 0; calls < 10_000; calls++)
        {
            var response = await http.GetAsync($"/api/events?{query}&limit={limit}&since={Uri.EscapeDataString(since)}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            items.AddRange(page["items"]!.AsArray().Select(i => i!.AsObject()));
            since = page["next"]!.GetValue<string>();
            if (!page["more"]!.GetValue<bool>())
            {
                return items;
            }
        }

        throw new InvalidOperationException("the feed never came to an end");
    }

    private static (string Id, int Seq) Key(JsonObject item) => (item["incidentId"]!.GetValue<string>(), item["entry"]!["seq"]!.GetValue<int>());

    [Fact]
    public async Task A_supervisor_reads_every_entry_of_their_region_once_in_order_whatever_the_page_size()
    {
        var (city, ids) = await CityWithIncidentsAsync();
        using var admin = api.As($"district-{city.Code}", "district-admin", city.District);
        var views = await Task.WhenAll(ids.Select(id => api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()));
        var expected = views.SelectMany(v => v.Timeline.Select(e => (v.Id, e.Seq))).ToHashSet();

        foreach (var limit in new[] { 1, 3, 1000 })
        {
            var items = await ReadAllAsync(admin, $"region={city.District}", limit);
            var keys = items.Select(Key).ToList();
            Assert.Equal(keys.Count, keys.Distinct().Count());                             // nothing twice
            Assert.Superset(expected, keys.ToHashSet());                                  // nothing missing (later entries may have come)
            Assert.All(keys.GroupBy(k => k.Id), g => Assert.Equal(g.Select(k => k.Seq).Order(), g.Select(k => k.Seq)));
            Assert.All(items, i => Assert.StartsWith(city.District, i["gridCode"]!.GetValue<string>()));
            Assert.Contains(items, i => i["entry"]!["report"]?["reporter"] is not null);     // supervisors see who reported
        }

        // The same reading in two halves: a cursor kept from the first half goes on exactly where it stopped.
        var first = (await admin.GetFromJsonAsync<JsonObject>($"/api/events?region={city.District}&limit=4"))!;
        var fromCursor = await ReadFromAsync(admin, city.District, first["next"]!.GetValue<string>());
        var whole = await ReadAllAsync(admin, $"region={city.District}", 1000);
        var halves = first["items"]!.AsArray().Select(i => Key(i!.AsObject())).Concat(fromCursor.Select(Key)).ToList();
        Assert.Equal(whole.Select(Key).Take(halves.Count), halves);
    }

    private static async Task<List<JsonObject>> ReadFromAsync(HttpClient http, string region, string since)
    {
        var items = new List<JsonObject>();
        while (true)
        {
            var page = (await http.GetFromJsonAsync<JsonObject>($"/api/events?region={region}&limit=1000&since={Uri.EscapeDataString(since)}"))!;
            items.AddRange(page["items"]!.AsArray().Select(i => i!.AsObject()));
            since = page["next"]!.GetValue<string>();
            if (!page["more"]!.GetValue<bool>())
            {
                return items;
            }
        }
    }

    [Fact]
    public async Task Kinds_and_grids_narrow_the_feed_and_a_department_reads_its_own_categories_without_reporters()
    {
        var (city, ids) = await CityWithIncidentsAsync();
        using var admin = api.As($"district-{city.Code}", "district-admin", city.District);
        var reported = await ReadAllAsync(admin, $"region={city.District}&kinds=reported", 50);
        Assert.Equal(ids.Order(), reported.Select(i => i["incidentId"]!.GetValue<string>()).Order());
        Assert.All(reported, i => Assert.Equal("reported", i["entry"]!["kind"]!.GetValue<string>(), ignoreCase: true));

        var oneGrid = await ReadAllAsync(admin, $"region={city.Grids[1]}", 50);
        Assert.Equal([ids[1]], oneGrid.Select(i => i["incidentId"]!.GetValue<string>()).Distinct());

        using var department = api.As($"dept-{city.Code}", "department", $"{city.Code}:city-management");
        var own = await ReadAllAsync(department, "kinds=reported", 50);       // region: the department's city
        Assert.Equal(new[] { ids[0], ids[2] }.Order(), own.Select(i => i["incidentId"]!.GetValue<string>()).Order());   // 0101, 0102; not 0301
        Assert.All(own, i => Assert.Null(i["entry"]!["report"]!["reporter"]));
        Assert.All(own, i => Assert.Equal(22.543, i["entry"]!["report"]!["location"]!["latitude"]!.GetValue<double>()));
    }

    [Fact]
    public async Task Whoever_may_not_read_the_region_is_refused_and_bad_input_is_named()
    {
        var (city, _) = await CityWithIncidentsAsync();
        var other = TestCity.Create();
        foreach (var (caller, query) in new[]
        {
            (api.As($"worker-{city.Code}", "worker", city.Grids[0]), $"region={city.Grids[0]}"),
            (api.As($"resident-{city.Code}", "resident"), $"region={city.District}"),
            (api.As($"district-{other.Code}", "district-admin", other.District), $"region={city.District}"),
            (api.As($"dept-{other.Code}", "department", $"{other.Code}:city-management"), $"region={city.District}"),
        })
        {
            using var _ = caller;
            var refused = await caller.GetAsync($"/api/events?{query}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("region", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["field"]?.GetValue<string>());
        }

        using var anonymous = api.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/events?region={city.District}")).StatusCode);

        using var admin = api.As($"district-{city.Code}", "district-admin", city.District);
        foreach (var (query, field) in new[]
        {
            ("since=not-a-cursor", "since"), ("since=" + Convert.ToBase64String("1:x:y"u8.ToArray()), "since"), ("kinds=reported,exploded", "kinds"),
            ("kinds=1", "kinds"), ("limit=0", "limit"), ("limit=1001", "limit"), ("region=44", "region"), ("limit=many", "limit"),
        })
        {
            var bad = await admin.GetAsync($"/api/events?{query}");
            Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, $"{query}: {(int)bad.StatusCode}");
            Assert.Equal(field, (await bad.Content.ReadFromJsonAsync<JsonObject>())!["field"]?.GetValue<string>());
        }
    }
}
