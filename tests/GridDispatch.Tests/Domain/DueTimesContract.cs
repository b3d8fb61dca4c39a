using GridDispatch.Domain;

namespace GridDispatch.Tests.Domain;

/// <summary>
/// What every <see cref="IIncidentStore"/> owes the deadline sweep, run against the memory store and PostgreSQL: an
/// incident's due time is the one its latest append recorded, found by its shard in a window (after, upTo].
/// </summary>
internal static class DueTimesContract
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    public static async Task HoldsAsync(IIncidentStore store)
    {
        // Three incidents of one shard, one of another, under ids no other test uses.
        var prefix = "due-" + Guid.NewGuid().ToString("N")[..8] + "-";
        var ids = Enumerable.Range(0, 1000).Select(i => prefix + i).ToList();
        var shard = DeadlineShards.Of(ids[0]);
        var same = ids.Where(id => DeadlineShards.Of(id) == shard).Take(3).ToArray();
        var other = ids.First(id => DeadlineShards.Of(id) != shard);
        var (a, b, c) = (same[0], same[1], same[2]);

        await store.AppendAsync(a, 0, [Entry(1)], T0.AddMinutes(10));
        await store.AppendAsync(b, 0, [Entry(1), Entry(2)], T0.AddMinutes(5));
        await store.AppendAsync(c, 0, [Entry(1)], null);
        await store.AppendAsync(other, 0, [Entry(1)], T0.AddMinutes(1));

        // Earliest first; the window is open below and closed above; another shard's incident is not in it.
        Assert.Equal([(b, T0.AddMinutes(5)), (a, T0.AddMinutes(10))], await DueAsync(store, shard, T0, T0.AddHours(1)));
        Assert.Equal([(a, T0.AddMinutes(10))], await DueAsync(store, shard, T0.AddMinutes(5), T0.AddMinutes(10)));
        Assert.Equal([(b, T0.AddMinutes(5))], await DueAsync(store, shard, T0, T0.AddHours(1), limit: 1));
        Assert.Equal([(other, T0.AddMinutes(1))], await DueAsync(store, DeadlineShards.Of(other), T0, T0.AddHours(1)));

        // A later append replaces the due time: moved later, or none at all.
        await store.AppendAsync(a, 1, [Entry(2)], T0.AddMinutes(30));
        await store.AppendAsync(b, 2, [Entry(3)], null);
        await store.AppendAsync(c, 1, [Entry(2), Entry(3)], T0.AddMinutes(20));
        Assert.Equal([(c, T0.AddMinutes(20)), (a, T0.AddMinutes(30))], await DueAsync(store, shard, T0, T0.AddHours(1)));

        // A read says what the latest append stored as due (the incident's own view of what the sweeper will find),
        // also when reading only the entries after a sequence; reading nothing says nothing.
        Assert.Equal((T0.AddMinutes(30), true), Due(await store.ReadAsync(a)));
        Assert.Equal((T0.AddMinutes(30), true), Due(await store.ReadAsync(a, afterSeq: 1)));
        Assert.Equal((null, true), Due(await store.ReadAsync(b)));
        Assert.Equal((null, false), Due(await store.ReadAsync(b, afterSeq: 3)));
        Assert.Equal((null, false), Due(await store.ReadAsync(prefix + "never")));

        // A failed append (a conflict: another writer's entry 2) changes nothing.
        await Assert.ThrowsAsync<IncidentConflictException>(() => store.AppendAsync(a, 1, [Entry(2) with { Actor = "rival" }], T0.AddMinutes(2)));
        Assert.Equal([(c, T0.AddMinutes(20)), (a, T0.AddMinutes(30))], await DueAsync(store, shard, T0, T0.AddHours(1)));
    }

    private static (DateTimeOffset? At, bool Known) Due(StoredTimeline read) => (read.DueAt, read.DueKnown);

    private static async Task<List<(string, DateTimeOffset)>> DueAsync(IIncidentStore store, int shard, DateTimeOffset after, DateTimeOffset upTo, int limit = 100) =>
        [.. (await store.DueAsync(shard, after, upTo, limit)).Where(d => d.IncidentId.StartsWith("due-", StringComparison.Ordinal))
            .Select(d => (d.IncidentId, d.DueAt))];

    private static TimelineEntry Entry(int seq) => new(
        seq, T0.AddSeconds(seq), "leader", seq == 1 ? IncidentEventKind.Reported : IncidentEventKind.DeadlineMissed,
        IncidentState.Reported, IncidentState.Reported);
}
