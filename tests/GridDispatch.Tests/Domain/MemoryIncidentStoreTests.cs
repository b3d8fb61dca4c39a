using GridDispatch.Domain;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GridDispatch.Tests.Domain;

public sealed class MemoryIncidentStoreTests
{
    private static MemoryIncidentStore Store(string clusterId) =>
        new(Options.Create(new ClusterOptions { ServiceId = "tests", ClusterId = clusterId }));

    [Fact]
    public Task Due_times_are_those_of_each_incidents_latest_append() => DueTimesContract.HoldsAsync(Store("due-" + Guid.NewGuid()));

    [Fact]
    public async Task Two_clusters_in_one_process_share_nothing_and_two_silos_of_one_share_everything()
    {
        var (cluster, otherCluster) = ("c-" + Guid.NewGuid(), "c-" + Guid.NewGuid());
        var entry = new TimelineEntry(1, DateTimeOffset.UnixEpoch, "leader", IncidentEventKind.Reported, IncidentState.Reported, IncidentState.Reported);
        await Store(cluster).AppendAsync("x-1", 0, [entry], DateTimeOffset.UnixEpoch.AddHours(1));

        Assert.Equal([entry], await Store(cluster).ReadAsync("x-1"));
        Assert.Empty(await Store(otherCluster).ReadAsync("x-1"));
        var shard = DeadlineShards.Of("x-1");
        Assert.Single(await Store(cluster).DueAsync(shard, DateTimeOffset.MinValue, DateTimeOffset.UnixEpoch.AddDays(1), 10));
        Assert.Empty(await Store(otherCluster).DueAsync(shard, DateTimeOffset.MinValue, DateTimeOffset.UnixEpoch.AddDays(1), 10));
    }

    [Fact]
    public void Shards_are_a_stable_hash_of_the_id()
    {
        // Stored with every due row: a change here would strand every due time already written.
        var fnv = 2166136261u;
        foreach (var c in "abc")
        {
            fnv = unchecked((fnv ^ c) * 16777619u);
        }

        Assert.Equal((int)(fnv % 16), DeadlineShards.Of("abc"));
        var spread = Enumerable.Range(0, 1600).Select(i => DeadlineShards.Of($"x{i:x31}")).GroupBy(s => s).ToList();
        Assert.Equal(DeadlineShards.Count, spread.Count);
        Assert.All(spread, g => Assert.InRange(g.Count(), 50, 150));
    }
}
