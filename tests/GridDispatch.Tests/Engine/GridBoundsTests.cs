using GridDispatch.Regions;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

/// <summary>State that grows with time is bounded: a grid keeps only its last ended campaigns, in state and in summaries.</summary>
[Collection(ClusterCollection.Name)]
public sealed class GridBoundsTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_grid_keeps_only_its_last_ended_campaigns_and_ignores_a_late_order_of_a_forgotten_one()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid], capacity: 100);
        await city.LoadAsync(Grains);
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        var now = ClusterFixture.Time.GetUtcNow();
        CampaignOrder Order(int i) => new($"c-{i:00}", 1, CampaignKind.SweepBuildings, $"sweep {i}", now, now.AddHours(4), false);

        // Orders and ends are one-way, as the campaign fans them out: each is waited for before the next.
        Task<GridView> Until(Func<GridView, bool> check, string what) => Eventually.Get(grid.GetAsync, check, what: what);
        static bool Ended(GridView g, string id) => g.Summary.Campaigns is { } c && (!c.TryGetValue(id, out var p) || p.Closed == p.Total);

        var count = GridGrain.EndedCampaignsKept + 4;
        for (var i = 0; i < count; i++)
        {
            var id = $"c-{i:00}";
            await grid.StartCampaignAsync(Order(i));
            await Until(g => g.Summary.Campaigns?.ContainsKey(id) == true, $"{id} started");
            await grid.EndCampaignAsync(id, "done");
            await Until(g => Ended(g, id), $"{id} ended");
        }

        var running = Order(99);
        await grid.StartCampaignAsync(running);
        var kept = (await Until(g => g.Summary.Campaigns?.ContainsKey(running.CampaignId) == true, "the running campaign started")).Summary.Campaigns!;
        Assert.Equal(GridGrain.EndedCampaignsKept + 1, kept.Count);
        Assert.Equal(Enumerable.Range(count - GridGrain.EndedCampaignsKept, GridGrain.EndedCampaignsKept).Select(i => $"c-{i:00}"),
            kept.Keys.Where(k => k != running.CampaignId).Order(StringComparer.Ordinal));

        // A late order of a forgotten campaign (one-way fan-out is not ordered) does not start it again: a later order
        // from the same sender, once seen, shows the late one was taken and ignored.
        await grid.StartCampaignAsync(Order(0));
        await grid.StartCampaignAsync(Order(100));
        var after = await Until(g => g.Summary.Campaigns?.ContainsKey("c-100") == true, "a later order arrived");
        Assert.DoesNotContain("c-00", after.Summary.Campaigns!.Keys);
    }
}
