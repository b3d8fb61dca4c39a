using System.Collections.Concurrent;

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
    /// <summary>The entries with a sequence above <paramref name="afterSeq"/>, in order.</summary>
    Task<IReadOnlyList<TimelineEntry>> ReadAsync(string incidentId, int afterSeq = 0);

    /// <summary>Appends entries numbered <paramref name="expectedVersion"/> + 1, + 2, … as one unit.</summary>
    Task AppendAsync(string incidentId, int expectedVersion, IReadOnlyList<TimelineEntry> entries);
}

/// <summary>
/// The embedded default's store: one per process, standing in for the database every silo of the process would share
/// (the in-process test cluster's silos see the same timelines). Timelines live as long as the process, like the
/// in-memory grain storage of the other grains.
/// </summary>
public sealed class MemoryIncidentStore : IIncidentStore
{
    private static readonly ConcurrentDictionary<string, List<TimelineEntry>> Timelines = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<TimelineEntry>> ReadAsync(string incidentId, int afterSeq = 0)
    {
        if (!Timelines.TryGetValue(incidentId, out var timeline))
        {
            return Task.FromResult<IReadOnlyList<TimelineEntry>>([]);
        }

        lock (timeline)
        {
            return Task.FromResult<IReadOnlyList<TimelineEntry>>([.. timeline.Where(e => e.Seq > afterSeq)]);
        }
    }

    public Task AppendAsync(string incidentId, int expectedVersion, IReadOnlyList<TimelineEntry> entries)
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
        }

        return Task.CompletedTask;
    }
}
