using System.Collections.Immutable;
using GridDispatch.Regions;

namespace GridDispatch.Tests.Domain;

/// <summary>
/// The one-pass roll-up gives what the plain definition gives: every figure the sum (or colour, or top list) of the
/// children's and the region's own staff, checked on seeded random children against that definition written out here.
/// </summary>
public sealed class UnitRollUpTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_region_summary_is_the_sum_of_its_children_and_its_own_staff(int seed)
    {
        var random = new Random(seed);
        var children = Enumerable.Range(0, random.Next(1, 30)).Select(g => Child(random, g)).ToList();
        var staff = Enumerable.Range(0, random.Next(0, 5)).Select(i => Worker(random, $"s{i}", "449901001001")).ToList();

        var merged = UnitRollUp.Merge("449901001001", RegionLevel.Community, "C", children, staff, 7, DateTimeOffset.UnixEpoch, OperatingMode.Default, 1.2, 10);

        Assert.Equal(children.Sum(c => c.OpenIncidents), merged.OpenIncidents);
        Assert.Equal(children.Sum(c => c.Overdue), merged.Overdue);
        Assert.Equal((children.Sum(c => c.Green), children.Sum(c => c.Yellow), children.Sum(c => c.Red)), (merged.Green, merged.Yellow, merged.Red));
        Assert.Equal(children.Sum(c => c.Red) > 0 ? Colour.Red : children.Sum(c => c.Yellow) > 0 ? Colour.Yellow : Colour.Green, merged.Colour);
        Assert.Equal(children.Sum(c => c.Workers) + staff.Count, merged.Workers);
        Assert.Equal(children.Sum(c => c.Load) + staff.Sum(e => e.Load), merged.Load);
        Assert.Equal(children.Sum(c => c.Capacity) + staff.Sum(e => e.Capacity), merged.Capacity);
        Assert.Equal(children.Sum(c => c.SurgeWorkers) + staff.Count(e => e.Temporary), merged.SurgeWorkers);
        Assert.Equal(children.Sum(c => c.Overloaded) + staff.Count(e => e.Load > e.Capacity * 1.2), merged.Overloaded);
        Assert.Equal(children.Sum(c => c.EmergencyGrids), merged.EmergencyGrids);
        Assert.Equal(children.Aggregate(KpiSet.Zero, (sum, c) => sum.Add(c.Kpi)), merged.Kpi);

        var byState = children.SelectMany(c => c.OpenByState).GroupBy(kv => kv.Key).Where(g => g.Sum(kv => kv.Value) != 0)
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        Assert.Equal(byState.OrderBy(kv => kv.Key), merged.OpenByState.OrderBy(kv => kv.Key));

        var campaigns = children.Where(c => c.Campaigns is not null).SelectMany(c => c.Campaigns!).GroupBy(kv => kv.Key)
            .ToDictionary(g => g.Key, g => g.Select(kv => kv.Value).Aggregate((a, b) => a.Add(b)));
        Assert.Equal(campaigns.OrderBy(kv => kv.Key), (merged.Campaigns ?? ImmutableDictionary<string, CampaignProgress>.Empty).OrderBy(kv => kv.Key));

        var top = children.SelectMany(c => c.TopLoaded).Concat(staff.Select(WorkerBrief.Of))
            .OrderByDescending(w => w.Utilisation).ThenBy(w => w.WorkerId, StringComparer.Ordinal).Take(10);
        Assert.Equal(top, merged.TopLoaded);
    }

    [Fact]
    public void A_region_without_children_or_campaigns_is_green_and_lists_no_campaigns()
    {
        var merged = UnitRollUp.Merge("449901", RegionLevel.District, "D", [], [], 1, DateTimeOffset.UnixEpoch, OperatingMode.Default, 1.0, 10);

        Assert.Equal(Colour.Green, merged.Colour);
        Assert.Null(merged.Campaigns);
        Assert.Empty(merged.OpenByState);
        Assert.Empty(merged.TopLoaded);
    }

    private static UnitSummary Child(Random random, int g)
    {
        var states = ImmutableDictionary<IncidentState, int>.Empty;
        foreach (var state in Enum.GetValues<IncidentState>().Where(_ => random.Next(3) == 0))
        {
            states = states.Add(state, random.Next(0, 5));
        }

        var campaigns = random.Next(2) == 0 ? null : ImmutableDictionary<string, CampaignProgress>.Empty
            .Add("sweep", Progress(random)).Add(random.Next(2) == 0 ? "check" : "deliver", Progress(random));
        var code = $"4499010010010{g:D2}";
        return new UnitSummary(code, RegionLevel.Grid, code, (Colour)random.Next(3), states, random.Next(10), random.Next(3),
            random.Next(2), random.Next(2), random.Next(2), random.Next(1, 6), random.Next(20), random.Next(20, 40),
            new KpiSet(Counters(random), Counters(random)), g, DateTimeOffset.UnixEpoch, OperatingMode.Default, campaigns,
            random.Next(3), random.Next(2), [.. Enumerable.Range(0, random.Next(0, 4)).Select(i => WorkerBrief.Of(Worker(random, $"w{g}-{i}", code)))],
            random.Next(2));
    }

    private static RosterEntry Worker(Random random, string id, string home) =>
        new(id, WorkerKind.FullTime, ["01"], WorkerStatus.Available, random.Next(0, 12), 10, home, 1, random.Next(4) == 0);

    private static KpiCounters Counters(Random random) =>
        new(random.Next(20), random.Next(20), random.Next(20), random.Next(3), random.Next(3), random.Next(10), random.Next(50));

    private static CampaignProgress Progress(Random random) =>
        new(1, random.Next(50), random.Next(10), random.Next(10), random.Next(10), random.Next(10), random.Next(3), 0, random.Next(2), random.Next(2), random.Next(1000), random.Next(10), 1);
}
