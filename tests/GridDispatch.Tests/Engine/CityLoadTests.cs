using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class CityLoadTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task The_shipped_demo_city_loads_and_every_region_rolls_up_its_grids_and_workers()
    {
        var city = CityDefinition.Read(Path.Combine(AppContext.BaseDirectory, "cities", "demo.json"));
        Assert.Empty(city.Validate());

        var report = await CityLoader.LoadAsync(Grains, city);
        Assert.True(report.Succeeded, string.Join("\n", report.Failures));
        Assert.Equal(city.Grids.Count(), report.Grids);

        var someGrid = city.Grids.Last();
        var grid = await Grains.GetGrain<IGridGrain>(someGrid.Code).GetAsync();
        Assert.Equal(someGrid.Households, grid.Definition.Households);
        Assert.True(grid.RecommendedWorkers >= 1);
        Assert.Equal(grid.RecommendedWorkers, grid.Roster.Length);

        var fieldWorkers = city.Workers.Count(w => w.Department is null);
        var top = await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(),
            c => c.Summary.Workers == fieldWorkers && c.Summary.Green == city.Grids.Count(), what: "demo city roll-up");
        Assert.Equal(city.Districts.Count, top.Children.Length);

        // Loading again is idempotent.
        var again = await CityLoader.LoadAsync(Grains, city);
        Assert.True(again.Succeeded);
        Assert.Equal(grid.Roster.Length, (await Grains.GetGrain<IGridGrain>(someGrid.Code).GetAsync()).Roster.Length);
    }

    [Fact]
    public async Task A_generated_city_can_take_incidents_in_every_grid()
    {
        var spec = new CitySpec(Code: "4402", Districts: 1, StreetsPerDistrict: 2, CommunitiesPerStreet: 2, GridsPerCommunity: 2, Seed: 99);
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        Assert.True((await CityLoader.LoadAsync(Grains, city)).Succeeded);

        var views = await Task.WhenAll(city.Grids.Select(g => Grains.ReportAsync(Reports.Make(g.Code))));
        Assert.All(views, v => Assert.Equal(IncidentState.Dispatched, v.State));
        Assert.All(views, v => Assert.Equal(RegionLevel.Grid, v.Level));
    }
}
