using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace GridDispatch.Tests.Api;

/// <summary>The drill-down's map: a region's grids as polygons in their colours, with no request leaving the host.</summary>
[Collection(ApiCollection.Name)]
public sealed class MapTests(ApiFixture api)
{
    [Fact]
    public async Task A_regions_map_draws_each_grid_in_its_colour_with_incidents_and_needs_no_tile_server()
    {
        // A city of its own (nothing else changes its colours), three grids in a row; an incident with a position in the first.
        var city = TestCity.Create(gridsPerCommunity: 3).At(new GeoPoint(30.5, 114.3));
        city.AddWorker("m", [city.Grid]);
        await city.LoadAsync(api.Grains);
        var incident = await api.Grains.ReportAsync(Reports.Make(city.Grid) with { Location = new GeoPoint(30.5001, 114.3001) });
        await Eventually.Get(() => api.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Summary.OpenIncidents > 0, what: "the grid counting its incident");
        var commanderId = $"commander-{city.Code}";
        using var commander = api.As(commanderId, "commander", city.Code);
        var map = (await commander.GetFromJsonAsync<JsonObject>($"/api/regions/{city.Community}/map"))!;
        var grids = map["grids"]!.AsArray();
        Assert.Equal(3, grids.Count);
        Assert.All(grids, g => Assert.True(g!["boundary"]!.AsArray().Count >= 4));
        Assert.Contains(map["incidents"]!.AsArray(), i => i!["id"]!.GetValue<string>() == incident.Id);

        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;
        var outside = new List<string>();
        page.Request += (_, r) => { if (!r.Url.StartsWith(api.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal) && !r.Url.StartsWith("blob:", StringComparison.Ordinal)) outside.Add(r.Url); };
        await WorkerPageTests.SignInDashboardAsync(page, commanderId, "commander", city.Code);
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{city.Community}").ToString());
        var drawn = page.Locator($"#map-{city.Community}[data-ready='true']");
        await Expect(drawn).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(page.Locator($"#map-{city.Community} path.grid-cell")).ToHaveCountAsync(grids.Count);
        foreach (var g in grids)
        {
            var cell = page.Locator($"#map-{city.Community} path.grid-cell[data-grid='{g!["code"]!.GetValue<string>()}']");
            var colour = g["colour"]!.GetValue<string>();
            await Expect(cell).ToHaveAttributeAsync("data-colour", colour);
            await Expect(cell).ToHaveAttributeAsync("fill", colour switch { "green" => "#2e7d46", "yellow" => "#d9a400", _ => "#b3261e" });
        }

        await Expect(page.Locator($"#map-{city.Community} path.map-incident")).ToHaveCountAsync(1);
        await HeadlessChromium.ScreenshotAsync(page, "map");
        Assert.Empty(outside);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_map_is_read_by_the_regions_rule_a_worker_elsewhere_gets_a_403_and_a_bad_code_a_400()
    {
        // (A refused read is audited where its target is: a region no audit test reads.)
        using var elsewhere = api.AsWorker("w-map-elsewhere", "449901002001001");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await elsewhere.GetAsync("/api/regions/449902001001/map")).StatusCode);
        using var commander = await api.ClientAsync("commander-city");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await commander.GetAsync("/api/regions/12ab/map")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await commander.GetAsync("/api/regions/449901001002/map")).StatusCode);
    }
}
