using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace GridDispatch.Tests.Api;

/// <summary>The drill-down's map: a region's grids as polygons in their colours, with no request leaving the host.</summary>
[Collection(ApiCollection.Name)]
public sealed class MapTests(ApiFixture api)
{
    private const string Community = "449901001002";

    [Fact]
    public async Task A_regions_map_draws_each_grid_in_its_colour_with_incidents_and_needs_no_tile_server()
    {
        // An incident with a position in the first of the community's grids (centre 22.54, 114.0635).
        var incident = await api.Grains.ReportAsync(Reports.Make(Community + "001") with { Location = new GeoPoint(22.5401, 114.0636) });
        await Eventually.Get(() => api.Grains.GetGrain<IGridGrain>(Community + "001").GetAsync(), g => g.Summary.OpenIncidents > 0, what: "the grid counting its incident");
        using var commander = await api.ClientAsync("commander-city");
        var map = (await commander.GetFromJsonAsync<JsonObject>($"/api/regions/{Community}/map"))!;
        var grids = map["grids"]!.AsArray();
        Assert.NotEmpty(grids);
        Assert.All(grids, g => Assert.True(g!["boundary"]!.AsArray().Count >= 4));
        Assert.Contains(map["incidents"]!.AsArray(), i => i!["id"]!.GetValue<string>() == incident.Id);

        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;
        var outside = new List<string>();
        page.Request += (_, r) => { if (!r.Url.StartsWith(api.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal) && !r.Url.StartsWith("blob:", StringComparison.Ordinal)) outside.Add(r.Url); };
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{Community}").ToString());
        await DashboardTests.SignInAsync(page);
        var drawn = page.Locator($"#map-{Community}[data-ready='true']");
        await Expect(drawn).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(page.Locator($"#map-{Community} path.grid-cell")).ToHaveCountAsync(grids.Count);
        foreach (var g in grids)
        {
            var cell = page.Locator($"#map-{Community} path.grid-cell[data-grid='{g!["code"]!.GetValue<string>()}']");
            var colour = g["colour"]!.GetValue<string>();
            await Expect(cell).ToHaveAttributeAsync("data-colour", colour);
            await Expect(cell).ToHaveAttributeAsync("fill", colour switch { "green" => "#2e7d46", "yellow" => "#d9a400", _ => "#b3261e" });
        }

        await Expect(page.Locator($"#map-{Community} path.map-incident")).Not.ToHaveCountAsync(0);
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
    }
}
