using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GridDispatch.Domain;

/// <summary>
/// An incident's store is its timeline: a command appends its new entries after the version it read, and the state is
/// the fold of the entries. The append returns once the entries are durable (the durable silo commits many incidents'
/// appends in one transaction); it fails with <see cref="IncidentConflictException"/> when the incident has moved past
/// <c>expectedVersion</c>, and with <see cref="StoreUnavailableException"/> when the store cannot take it now — in both
/// cases nothing of it was stored.
/// </summary>
public interface IIncidentStore
{
    /// <summary>
    /// The entries with a sequence above <paramref name="afterSeq"/>, in order, with the next due time stored with the
    /// last of them (<see cref="StoredTimeline.DueAt"/>).
    /// </summary>
    Task<StoredTimeline> ReadAsync(string incidentId, int afterSeq = 0);

    /// <summary>
    /// Appends entries numbered <paramref name="expectedVersion"/> + 1, + 2, … as one unit, with the incident's next
    /// due time after them (null: nothing due), which <see cref="DueAsync"/> finds until a later append replaces it.
    /// </summary>
    Task AppendAsync(string incidentId, int expectedVersion, IReadOnlyList<TimelineEntry> entries, DateTimeOffset? nextDue = null);

    /// <summary>
    /// The incidents of deadline shard <paramref name="shard"/> (<see cref="DeadlineShards"/>) whose latest append set a
    /// next due time in (<paramref name="after"/>, <paramref name="upTo"/>], earliest first, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<DueIncident>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit);

    /// <summary>The incidents reported in grid <paramref name="gridCode"/> that are not closed or cancelled, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> OpenInGridAsync(string gridCode, int limit);
}

/// <summary>
/// Entries read from an incident's timeline, and the next due time its latest append stored (the sweeper's view of
/// it): null when nothing is due, or when no entry was read (<see cref="DueKnown"/> is false then).
/// </summary>
public sealed class StoredTimeline(IReadOnlyList<TimelineEntry> entries, DateTimeOffset? dueAt) : IReadOnlyList<TimelineEntry>
{
    public static readonly StoredTimeline Empty = new([], null);

    public DateTimeOffset? DueAt => dueAt;

    public bool DueKnown => entries.Count > 0;

    public int Count => entries.Count;

    public TimelineEntry this[int index] => entries[index];

    public IEnumerator<TimelineEntry> GetEnumerator() => entries.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>An incident whose next deadline is due, as its latest append recorded it.</summary>
public sealed record DueIncident(string IncidentId, DateTimeOffset DueAt);

/// <summary>
/// Deadlines are swept per shard: an incident's shard is a stable hash of its id, stored with its due time. The count
/// is part of the stored data (rows keep the shard they were written with), so it never changes.
/// </summary>
public static class DeadlineShards
{
    public const int Count = 16;

    /// <summary>FNV-1a over the id's UTF-16 code units: the same on every silo and in every version.</summary>
    public static int Of(string incidentId)
    {
        var hash = 2166136261u;
        foreach (var c in incidentId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Count);
    }
}

/// <summary>
/// The embedded default's store: one per cluster in the process, standing in for the database every silo of a cluster
/// would share (an in-process test cluster's silos see the same timelines; two test clusters, told apart by their
/// cluster id, see none of each other's). Timelines live as long as the process, like the in-memory grain storage of
/// the other grains. Its change feed numbers every entry in the order it was appended (an index of 16 bytes or so
/// per entry, as long-lived as the timelines).
/// </summary>
public sealed class MemoryIncidentStore(IOptions<ClusterOptions> cluster) : IIncidentStore, IChangeFeed
{
    private static readonly ConcurrentDictionary<string, Space> Spaces = new(StringComparer.Ordinal);

    private readonly Space _space = Spaces.GetOrAdd($"{cluster.Value.ServiceId}/{cluster.Value.ClusterId}", static _ => new Space());

    private ConcurrentDictionary<string, List<TimelineEntry>> Timelines => _space.Timelines;

    private DueIndex[] Due => _space.Due;

    public Task<StoredTimeline> ReadAsync(string incidentId, int afterSeq = 0)
    {
        if (!Timelines.TryGetValue(incidentId, out var timeline))
        {
            return Task.FromResult(StoredTimeline.Empty);
        }

        lock (timeline)
        {
            // The last entry read is the latest: its append's due time is the one the index holds.
            TimelineEntry[] entries = [.. timeline.Where(e => e.Seq > afterSeq)];
            return Task.FromResult(new StoredTimeline(entries, entries.Length > 0 ? Due[DeadlineShards.Of(incidentId)].Get(incidentId) : null));
        }
    }

    public Task AppendAsync(string incidentId, int expectedVersion, IReadOnlyList<TimelineEntry> entries, DateTimeOffset? nextDue = null)
    {
        var timeline = Timelines.GetOrAdd(incidentId, _ => []);
        lock (timeline)
        {
            if (timeline.Count != expectedVersion)
            {
                throw new IncidentConflictException(incidentId, expectedVersion);
            }

            for (var i = 0; i < entries.Count; i++)
            {
                if (entries[i].Seq != expectedVersion + i + 1)
                {
                    throw new ArgumentException($"Entry {i} of the append is numbered {entries[i].Seq}, not {expectedVersion + i + 1}", nameof(entries));
                }
            }

            timeline.AddRange(entries);
            if (entries.Count > 0)
            {
                Due[DeadlineShards.Of(incidentId)].Set(incidentId, nextDue);
                lock (_space.Feed)
                {
                    foreach (var e in entries)
                    {
                        _space.Feed.Add((incidentId, e.Seq));
                    }
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DueIncident>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit) =>
        Task.FromResult(Due[shard].Between(after, upTo, limit));

    public Task<IReadOnlyList<string>> OpenInGridAsync(string gridCode, int limit)
    {
        var open = new List<string>();
        foreach (var (id, timeline) in Timelines)
        {
            lock (timeline)
            {
                if (timeline.Count > 0 && timeline[0].Report?.GridCode == gridCode && !timeline.Any(e => e.To is IncidentState.Closed or IncidentState.Cancelled))
                {
                    open.Add(id);
                }
            }

            if (open.Count >= limit)
            {
                break;
            }
        }

        return Task.FromResult<IReadOnlyList<string>>(open);
    }

    public Task<FeedPage> ReadAsync(FeedQuery query, CancellationToken cancellationToken = default)
    {
        // Position n is the n-th entry appended (1-based); an append adds its entries under the feed's lock after they
        // are in their timeline, so every position below the count can be read.
        (string Id, int Seq)[] rows;
        var from = (int)Math.Min(query.After.Position, int.MaxValue);
        lock (_space.Feed)
        {
            rows = [.. _space.Feed.Skip(from).Take(query.Scan)];
        }

        var items = new List<FeedItem>();
        var next = query.After;
        for (var i = 0; i < rows.Length && items.Count < query.Limit; i++)
        {
            var (id, seq) = rows[i];
            var timeline = Timelines[id];
            TimelineEntry entry;
            IncidentReport? report;
            lock (timeline)
            {
                (entry, report) = (timeline[seq - 1], timeline[0].Report);
            }

            next = new FeedCursor((ulong)(from + i + 1), id, seq);
            if (query.Matches(report?.GridCode ?? "", report?.Category ?? "", entry.Kind))
            {
                items.Add(new FeedItem(next, id, report?.GridCode ?? "", report?.Category ?? "", entry));
            }
        }

        var examined = (int)(next.Position - query.After.Position);
        return Task.FromResult(new FeedPage(items, next, examined < rows.Length || rows.Length == query.Scan));
    }

    private sealed class Space
    {
        public List<(string IncidentId, int Seq)> Feed { get; } = [];

        public ConcurrentDictionary<string, List<TimelineEntry>> Timelines { get; } = new(StringComparer.Ordinal);

        public DueIndex[] Due { get; } = [.. Enumerable.Range(0, DeadlineShards.Count).Select(_ => new DueIndex())];
    }

    /// <summary>One shard's current due times: each incident's latest, ordered by time.</summary>
    private sealed class DueIndex
    {
        private readonly Dictionary<string, DateTimeOffset> _current = new(StringComparer.Ordinal);
        private readonly SortedSet<(DateTimeOffset At, string Id)> _byTime = new(Comparer<(DateTimeOffset At, string Id)>.Create(
            static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id)));

        public void Set(string id, DateTimeOffset? due)
        {
            lock (_byTime)
            {
                if (_current.Remove(id, out var old))
                {
                    _byTime.Remove((old, id));
                }

                if (due is { } at)
                {
                    _current[id] = at;
                    _byTime.Add((at, id));
                }
            }
        }

        public DateTimeOffset? Get(string id)
        {
            lock (_byTime)
            {
                return _current.TryGetValue(id, out var at) ? at : null;
            }
        }

        public IReadOnlyList<DueIncident> Between(DateTimeOffset after, DateTimeOffset upTo, int limit)
        {
            lock (_byTime)
            {
                if (after >= upTo)
                {
                    return [];
                }

                return [.. _byTime.GetViewBetween((after, ""), (upTo.AddTicks(1), "")) // ids are never empty: the bounds hold no incident
                    .Where(d => d.At > after)
                    .Take(limit)
                    .Select(d => new DueIncident(d.Id, d.At))];
            }
        }
    }
}
