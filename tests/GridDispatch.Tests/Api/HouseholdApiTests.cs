using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Tests.Api;

/// <summary>The household register over HTTP: import all or nothing, the contract's refusals, and who sees personal data.</summary>
[Collection(ApiCollection.Name)]
public sealed class HouseholdApiTests(ApiFixture api)
{
    private const string Header = "building,unit,size,tags,name,phone\n";

    private static StringContent Csv(string text) => new(text, Encoding.UTF8, "text/csv");

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<TestCity> CityAsync(int communities = 1)
    {
        var city = TestCity.Create(communities: communities);
        city.AddWorker("w", [city.Grid]);
        return await city.LoadAsync(api.Grains);
    }

    private async Task<int> TotalAsync(HttpClient client, string grid) =>
        (await client.GetFromJsonAsync<JsonObject>($"/api/grids/{grid}/households"))!["total"]!.GetValue<int>();

    [Fact]
    public async Task An_import_is_stored_whole_or_refused_whole_with_every_wrong_line_named()
    {
        var city = await CityAsync();
        using var leader = api.As("leader-import", "grid-leader", city.Grid);
        var imported = await leader.PostAsync($"/api/grids/{city.Grid}/households/import?reason=spring%20collection",
            Csv(Header + "1栋,101,3,elderly-alone,王芳,13800000001\n1栋,102,2,rented;shop,,\n\"2栋, east\",,1,,李雷,+86 139 0000 0002\n"));
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var outcome = (await imported.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((3, 0), (outcome["added"]!.GetValue<int>(), outcome["updated"]!.GetValue<int>()));

        // Line 3 has a column too few, line 4 a tag the city does not have: 400 naming both lines, and nothing of it stored.
        var broken = await leader.PostAsync($"/api/grids/{city.Grid}/households/import",
            Csv(Header + "3栋,101,2,,,\n3栋,102,2\n3栋,103,2,astronaut,,\n"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        var problem = (await broken.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("line 3", problem["field"]!.GetValue<string>());
        var errors = problem["errors"]!.AsArray();
        Assert.Equal([(3, null), (4, "tags")], errors.Select(e => (e!["line"]!.GetValue<int>(), e["field"]?.GetValue<string>())));
        Assert.Contains("astronaut", errors[1]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(3, await TotalAsync(leader, city.Grid));

        // The same file again updates, never duplicates; the buildings are listed with their households.
        var again = await leader.PostAsync($"/api/grids/{city.Grid}/households/import", Csv(Header + "1栋,101,4,elderly-alone,王芳,13800000001\n"));
        Assert.Equal(1, (await again.Content.ReadFromJsonAsync<JsonObject>())!["updated"]!.GetValue<int>());
        Assert.Equal(3, await TotalAsync(leader, city.Grid));
        var buildings = (await leader.GetFromJsonAsync<JsonArray>($"/api/grids/{city.Grid}/buildings"))!;
        Assert.Equal([("1栋", 2), ("2栋, east", 1)], buildings.Select(b => (b!["name"]!.GetValue<string>(), b["households"]!.GetValue<int>())));

        // A worker may not import a file (supervisors do), and the register stays as it was.
        using var worker = api.AsWorker($"{city.Code}-w", city.Grid);
        Assert.Equal(HttpStatusCode.Forbidden, (await worker.PostAsync($"/api/grids/{city.Grid}/households/import", Csv(Header + "4栋,1,1,,,\n"))).StatusCode);
        Assert.Equal(3, await TotalAsync(leader, city.Grid));
    }

    [Fact]
    public async Task Bad_input_gets_a_400_naming_the_field_and_changes_nothing()
    {
        var city = await CityAsync();
        using var leader = api.As("leader-bad", "grid-leader", city.Grid);
        var created = await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("{\"building\":\"1栋\",\"unit\":\"101\",\"size\":2,\"tags\":[\"rented\"],\"name\":\"王芳\",\"phone\":\"13800000001\"}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var household = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = household["id"]!.GetValue<string>();
        var version = household["version"]!.GetValue<int>();

        async Task Refused(HttpResponseMessage response, string field)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        }

        await Refused(await leader.PutAsync($"/api/households/{id}/colour", Json("{\"colour\":\"purple\",\"reason\":\"x\"}")), "colour");
        await Refused(await leader.PutAsync($"/api/households/{id}/colour", Json("{\"colour\":\"red\"}")), "reason");
        await Refused(await leader.PostAsync($"/api/households/{id}/visits", Json("{\"kind\":\"telepathy\",\"outcome\":\"ok\"}")), "kind");
        await Refused(await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("{\"building\":\"1栋\",\"size\":2,\"tags\":[\"astronaut\"]}")), "tags");
        await Refused(await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("{\"building\":\"1栋\",\"size\":99}")), "size");
        await Refused(await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("{\"building\":\"2栋\",\"size\":1,\"people\":[{\"idNumber\":\"110101199001011234\"}]}")), "people[0].idNumber");
        await Refused(await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("{\"building\":\"2栋\",\"size\":1,\"people\":[{\"phone\":\"call me\"}]}")), "people[0].phone");
        await Refused(await leader.GetAsync($"/api/grids/{city.Grid}/households?tag=astronaut"), "tag");
        await Refused(await leader.GetAsync($"/api/grids/{city.Grid}/households?page=2147483647"), "page");

        // A finding the catalogue does not have, or one of the register's own warnings: refused before the visit is stored.
        await Refused(await leader.PostAsync($"/api/households/{id}/visits",
            Json("{\"kind\":\"phone\",\"outcome\":\"problem\",\"findings\":[{\"category\":\"9999\",\"description\":\"x\"}]}")), "findings[0].category");
        await Refused(await leader.PostAsync($"/api/households/{id}/visits",
            Json("{\"kind\":\"phone\",\"outcome\":\"problem\",\"findings\":[{\"category\":\"1505\",\"description\":\"x\"}]}")), "findings[0].category");
        await Refused(await leader.GetAsync($"/api/grids/{city.Grid}/households?colour=purple"), "colour");
        await Refused(await leader.GetAsync("/api/households/not-a-household"), "id");
        await Refused(await leader.PostAsync($"/api/grids/{city.Grid}/households/import", new StringContent(Header, Encoding.UTF8, "application/json")), "body");
        var huge = await leader.PostAsync($"/api/grids/{city.Grid}/households/import", Csv(Header + new string('x', 5 * 1024 * 1024)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        var after = (await leader.GetFromJsonAsync<JsonObject>($"/api/households/{id}"))!;
        Assert.Equal((version, "green"), (after["version"]!.GetValue<int>(), after["colour"]!.GetValue<string>()));
        Assert.Equal(1, await TotalAsync(leader, city.Grid));
        Assert.Equal(HttpStatusCode.NotFound, (await leader.GetAsync($"/api/households/{HouseholdIds.Household(city.Grid, "9栋", "1")}")).StatusCode);

        // Several people with their identity numbers, checked by the standard's check digit.
        var family = await leader.PostAsync($"/api/grids/{city.Grid}/households",
            Json("{\"building\":\"3栋\",\"unit\":\"301\",\"size\":2,\"people\":[{\"name\":\"李雷\",\"idNumber\":\"11010519491231002x\"},{\"name\":\"韩梅梅\",\"phone\":\"13900000009\"}]}"));
        Assert.Equal(HttpStatusCode.Created, family.StatusCode);
        var people = (await family.Content.ReadFromJsonAsync<JsonObject>())!["people"]!.AsArray();
        Assert.Equal([("李雷", "11010519491231002X"), ("韩梅梅", null)], people.Select(p => (p!["name"]!.GetValue<string>(), p["idNumber"]?.GetValue<string>())));
    }

    [Fact]
    public async Task Personal_data_is_for_the_grids_own_staff_and_never_in_a_region_push()
    {
        var city = await CityAsync(communities: 2);
        var other = city.Grids[1];
        await api.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "101", 1, ["elderly-alone"], [new PersonInput("赵秀英", "13711112222")])], "leader", "collection");
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        var before = await api.Grains.GetGrain<IHouseholdGrain>(id).GetAsync();

        // The grid's own worker sees the people; a worker of the neighbouring grid and a department officer see nothing,
        // and cannot change anything either.
        using var own = api.AsWorker($"{city.Code}-w", city.Grid);
        var seen = (await own.GetFromJsonAsync<JsonObject>($"/api/households/{id}"))!;
        Assert.Equal("13711112222", seen["people"]![0]!["phone"]!.GetValue<string>());
        using var neighbour = api.AsWorker("someone-else", other);
        using var officer = api.As("officer-h", "department", $"{city.Code}:civil-affairs");
        foreach (var client in new[] { neighbour, officer })
        {
            var refused = await client.GetAsync($"/api/households/{id}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.DoesNotContain("13711112222", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsync($"/api/households/{id}/colour", Json("{\"colour\":\"red\",\"reason\":\"x\"}"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/api/grids/{city.Grid}/households")).StatusCode);
            var unchanged = await api.Grains.GetGrain<IHouseholdGrain>(id).GetAsync();
            Assert.Equal((before.Version, Colour.Green), (unchanged.Version, unchanged.Colour));
        }

        // A street administrator watching the street live gets the colour counts, never a name or a phone.
        using var street = api.As("street-watch", "street-admin", city.Street);
        var token = ApiFixture.Sign("street-watch", "street-admin", city.Street);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        var pushes = new ConcurrentQueue<string>();
        connection.On<JsonElement[]>("regionChanged", items => { foreach (var i in items) pushes.Enqueue(i.GetRawText()); });
        await connection.StartAsync();
        var snapshot = await connection.InvokeAsync<JsonElement>("Subscribe", $"region:{city.Street}");
        using var leader = api.As("leader-h", "grid-leader", city.Grid);
        Assert.Equal(HttpStatusCode.OK, (await leader.PutAsync($"/api/households/{id}/colour", Json("{\"colour\":\"red\",\"reason\":\"fell at home, lives alone\"}"))).StatusCode);
        await Eventually.Get(() => Task.FromResult(pushes.ToArray()),
            p => p.Any(x => JsonNode.Parse(x)?["state"]?["households"]?["red"]?.GetValue<int>() == 1), what: "the street's push counts the red household");
        foreach (var text in pushes.Append(snapshot.GetRawText()))
        {
            Assert.DoesNotContain("13711112222", text, StringComparison.Ordinal);
            Assert.DoesNotContain("赵秀英", text, StringComparison.Ordinal);
            Assert.DoesNotContain("fell at home", text, StringComparison.Ordinal);
        }

        var summary = (await street.GetFromJsonAsync<JsonObject>($"/api/regions/{city.Street}/households/summary"))!;
        Assert.Equal(1, summary["counts"]!["red"]!.GetValue<int>());
        Assert.Equal(1, summary["counts"]!["byTag"]!["elderly-alone"]!.GetValue<int>());
        Assert.Equal(2, summary["children"]!.AsArray().Count);
    }

    [Fact]
    public async Task Erasing_a_person_is_a_command_for_district_administrators_and_the_log_keeps_that_it_happened()
    {
        var city = await CityAsync();
        await api.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "201", 2, [], [new PersonInput("钱伟", "13655556666", "110101199001011234")])], "leader", "collection");
        var id = HouseholdIds.Household(city.Grid, "1栋", "201");
        using var leader = api.As("leader-e", "grid-leader", city.Grid);
        Assert.Equal(HttpStatusCode.Forbidden, (await leader.PostAsync($"/api/households/{id}/people/{id}-p1/erase", Json("{}"))).StatusCode);
        Assert.Equal("13655556666", (await api.Grains.GetGrain<IHouseholdGrain>(id).GetAsync()).People[0].Phone);

        using var district = api.As("district-e", "district-admin", city.District);
        var erased = await district.PostAsync($"/api/households/{id}/people/{id}-p1/erase", Json("{\"reason\":\"moved away, asked to be removed\"}"));
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var text = await erased.Content.ReadAsStringAsync();
        Assert.DoesNotContain("13655556666", text, StringComparison.Ordinal);
        Assert.DoesNotContain("110101199001011234", text, StringComparison.Ordinal);
        var view = await api.Grains.GetGrain<IHouseholdGrain>(id).GetAsync();
        Assert.Equal((null, null, null), (view.People[0].Name, view.People[0].Phone, view.People[0].IdNumber));
        Assert.NotNull(view.People[0].ErasedAt);
        Assert.Contains(view.Log, l => l.Kind == "erasure" && l.Actor == "district-e");

        // A re-import naming them again does not bring them back.
        await api.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "201", 3, [], [new PersonInput("钱伟", "13655556666")])], "leader", "recollection");
        Assert.Null((await api.Grains.GetGrain<IHouseholdGrain>(id).GetAsync()).People[0].Phone);
    }

    [Fact]
    public async Task The_demo_city_comes_with_a_generated_register_of_its_grids_households()
    {
        const string grid = "449902001001003";     // 200 households in 9 buildings in the demo city; no other test writes to it
        var page = await Eventually.Get(() => api.Http.GetFromJsonAsync<JsonObject>($"/api/grids/{grid}/households?pageSize=100")!,
            p => p!["total"]!.GetValue<int>() == 200, what: "the demo grid's register");
        Assert.Equal(9, (await api.Http.GetFromJsonAsync<JsonArray>($"/api/grids/{grid}/buildings"))!.Count);
        Assert.All(page!["items"]!.AsArray(), h => Assert.Empty(h!["people"]!.AsArray()));   // a page carries no personal data
        var counts = await Eventually.Get(() => api.Http.GetFromJsonAsync<JsonObject>($"/api/regions/{grid[..12]}/households/summary")!,
            s => s!["counts"]!["households"]!.GetValue<int>() > 0, what: "the community counts its register");
        Assert.True(counts!["counts"]!["green"]!.GetValue<int>() > 0);
    }

    [Fact]
    public async Task A_region_file_imports_every_grid_in_one_transaction_or_none_of_them()
    {
        var city = TestCity.Create(communities: 1, gridsPerCommunity: 2);
        await city.LoadAsync(api.Grains);
        using var admin = api.As("admin-region", "community-admin", city.Community);
        const string header = "grid,building,unit,size,tags,name,phone\n";
        var imported = await admin.PostAsync($"/api/regions/{city.Community}/households/import",
            Csv(header + $"{city.Grids[0]},1栋,101,2,,王芳,13800000001\n{city.Grids[1]},A,1,3,rented,,\n{city.Grids[1]},A,2,1,,,\n"));
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var outcomes = (await imported.Content.ReadFromJsonAsync<JsonArray>())!;
        Assert.Equal([(city.Grids[0], 1), (city.Grids[1], 2)], outcomes.Select(o => (o!["gridCode"]!.GetValue<string>(), o["added"]!.GetValue<int>())));

        // A line naming a grid outside the community, or a grid the city does not have: nothing of the file is stored.
        var outside = await admin.PostAsync($"/api/regions/{city.Community}/households/import",
            Csv(header + $"{city.Grids[0]},2栋,101,2,,,\n449899001001001,1栋,1,1,,,\n"));
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        Assert.Equal("line 3: grid", (await outside.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        var unknown = await admin.PostAsync($"/api/regions/{city.Community}/households/import",
            Csv(header + $"{city.Grids[0]},3栋,101,2,,,\n{city.Community}999,1栋,1,1,,,\n"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("line 3: grid", (await unknown.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        Assert.Equal(1, await TotalAsync(admin, city.Grids[0]));
        Assert.Equal(2, await TotalAsync(admin, city.Grids[1]));

        // A grid leader may not import a region's file.
        using var leader = api.As("leader-region", "grid-leader", city.Grids[0]);
        Assert.Equal(HttpStatusCode.Forbidden, (await leader.PostAsync($"/api/regions/{city.Community}/households/import",
            Csv(header + $"{city.Grids[0]},4栋,101,2,,,\n"))).StatusCode);
        Assert.Equal(1, await TotalAsync(admin, city.Grids[0]));    // and nothing of the file was stored
    }

    [Fact]
    public async Task The_export_masks_personal_data_and_cannot_be_imported_back()
    {
        var city = await CityAsync();
        await api.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "101", 2, ["low-income"], [new PersonInput("王芳", "13800000001")]),
             new HouseholdInput("=HYPERLINK(1)", "", 1, [], [])], "leader", "collection");
        using var leader = api.As("leader-export", "grid-leader", city.Grid);
        var response = await leader.GetAsync($"/api/grids/{city.Grid}/households/export.csv");
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("1栋,101,2,low-income,green,", text, StringComparison.Ordinal);
        Assert.Contains("王*,138****0001", text, StringComparison.Ordinal);
        Assert.DoesNotContain("13800000001", text, StringComparison.Ordinal);
        Assert.DoesNotContain("王芳", text, StringComparison.Ordinal);
        Assert.Contains("'=HYPERLINK(1)", text, StringComparison.Ordinal);     // a spreadsheet never runs a cell as a formula

        using var neighbour = api.AsWorker("someone-else", city.Code + "01001001999");
        Assert.Equal(HttpStatusCode.Forbidden, (await neighbour.GetAsync($"/api/grids/{city.Grid}/households/export.csv")).StatusCode);

        // Sent back as an import, a masked name is refused, so masks never overwrite the register.
        var back = await leader.PostAsync($"/api/grids/{city.Grid}/households/import", Csv(Header + "1栋,101,2,low-income,王*,\n"));
        Assert.Equal(HttpStatusCode.BadRequest, back.StatusCode);
        Assert.Equal("line 2: name", (await back.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        Assert.Equal("13800000001", (await api.Grains.GetGrain<IHouseholdGrain>(HouseholdIds.Household(city.Grid, "1栋", "101")).GetAsync()).People[0].Phone);
    }

    [Fact]
    public async Task A_worker_lists_the_revisits_due_in_the_grids_they_serve()
    {
        var city = await CityAsync(communities: 2);
        var worker = $"{city.Code}-w";
        await api.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "101", 1, ["isolated"], []), new HouseholdInput("1栋", "102", 1, ["rented"], [])], "leader", "collection");
        using var own = api.AsWorker(worker, city.Grid);
        var soon = (await own.GetFromJsonAsync<JsonArray>($"/api/workers/{worker}/revisits?withinHours=48"))!;
        var due = Assert.Single(soon);      // isolated: a phone call every day; rented: no schedule
        Assert.Equal((HouseholdIds.Household(city.Grid, "1栋", "101"), "phone"), (due!["householdId"]!.GetValue<string>(), due["kind"]!.GetValue<string>()));
        Assert.Empty((await own.GetFromJsonAsync<JsonArray>($"/api/workers/{worker}/revisits?withinHours=1"))!);
        using var neighbour = api.AsWorker("someone-else", city.Grids[1]);
        Assert.Equal(HttpStatusCode.Forbidden, (await neighbour.GetAsync($"/api/workers/{worker}/revisits")).StatusCode);
    }
}
