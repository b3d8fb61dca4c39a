using System.Collections.Concurrent;
using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GridDispatch.Register;

/// <summary>
/// The embedded default's register: one per cluster in the process, standing in for the database every silo would
/// share (like <see cref="MemoryIncidentStore"/>). A write takes the register's lock, checks every version, then
/// applies all of it, so it is as all-or-nothing as the database's transaction. Rows are copied in and out, so no
/// caller holds the stored object. Bound: the rows written (as the database's), and <see cref="HouseholdLog.Kept"/>
/// log lines per household.
/// </summary>
public sealed class MemoryHouseholdStore(IOptions<ClusterOptions> cluster) : IHouseholdStore
{
    /// <summary>By building, unit and id, ordinally (the database's COLLATE "C" order).</summary>
    private static readonly Comparer<(string, string, string)> Ordinal = Comparer<(string, string, string)>.Create(static (a, b) =>
        string.CompareOrdinal(a.Item1, b.Item1) is var x and not 0 ? x : string.CompareOrdinal(a.Item2, b.Item2) is var y and not 0 ? y
        : string.CompareOrdinal(a.Item3, b.Item3));

    private static readonly ConcurrentDictionary<string, Space> Spaces = new(StringComparer.Ordinal);

    private readonly Space _s = Spaces.GetOrAdd($"{cluster.Value.ServiceId}/{cluster.Value.ClusterId}", static _ => new Space());

    public Task<HouseholdRecord?> GetAsync(string id)
    {
        lock (_s)
        {
            return Task.FromResult(_s.Rows.TryGetValue(id, out var row) ? row.Copy() : null);
        }
    }

    public Task<IReadOnlyList<HouseholdRecord>> InGridAsync(string grid)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<HouseholdRecord>>([.. Grid(grid).Select(r => r.Copy())]);
        }
    }

    public Task WriteAsync(IReadOnlyList<HouseholdChange> changes, IReadOnlyList<BuildingInfo>? buildings = null)
    {
        lock (_s)
        {
            foreach (var c in changes)
            {
                var version = _s.Rows.TryGetValue(c.Record.Id, out var stored) ? stored.Version : 0;
                if (version != c.ExpectedVersion)
                {
                    throw new HouseholdConflictException(c.Record.Id);
                }
            }

            foreach (var c in changes.Where(c => !c.RowChanged))
            {
                WritePeople(c);     // the row as it is: its people only
            }

            foreach (var c in changes.Where(c => c.RowChanged))
            {
                var row = c.Record.Copy();
                row.Version = c.ExpectedVersion + 1;
                var due = _s.Due[DeadlineShards.Of(row.Id)];
                if (_s.Rows.TryGetValue(row.Id, out var old) && old.DueAt is { } was)
                {
                    due.Remove((was, row.Id));
                }

                if (row.DueAt is { } at)
                {
                    due.Add((at, row.Id));
                }

                _s.Rows[row.Id] = row;
                if (!_s.ByGrid.TryGetValue(row.Grid, out var ids))
                {
                    _s.ByGrid[row.Grid] = ids = new SortedSet<(string, string, string)>(Ordinal);
                }

                ids.Add((row.Building, row.Unit ?? "", row.Id));
                WritePeople(c);
                if (c.Erase is { } erase && _s.People.TryGetValue(row.Id, out var people))
                {
                    var index = people.FindIndex(p => p.Position == erase.Position);
                    if (index >= 0)
                    {
                        people[index] = new PersonRecord(erase.Position, null, null, null, DateTimeOffset.UtcNow, erase.By);
                    }
                }

                if (c.ExpectedVersion == 0 || c.Log is null)
                {
                    continue;   // a new household's line is its registration, kept in the row; a due time moved needs none
                }

                var log = _s.Log.TryGetValue(row.Id, out var lines) ? lines : _s.Log[row.Id] = [];
                log.Add(c.Log);
                if (log.Count > HouseholdLog.Kept)
                {
                    log.RemoveRange(0, log.Count - HouseholdLog.Kept);
                }
            }

            foreach (var b in buildings ?? [])
            {
                _s.Buildings[HouseholdIds.Building(b.Grid, b.Name)] = b;
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Replaces a household's people: the erased keep their places, erased; the new list takes the places after them.</summary>
    private void WritePeople(HouseholdChange c)
    {
        if (c.People is not null)
        {
            var erased = (_s.People.GetValueOrDefault(c.Record.Id) ?? []).Where(o => o.ErasedAt is not null).ToList();
            _s.People[c.Record.Id] = [.. erased, .. HouseholdPeople.After(erased, c.People)];
        }
    }

    public Task<(IReadOnlyList<HouseholdRecord> Items, int Total)> ListAsync(string grid, Colour? colour, string? tag, int offset, int limit)
    {
        lock (_s)
        {
            var matching = Grid(grid).Where(r => (colour is null || r.Colour == colour) && (tag is null || r.Tags.Contains(tag))).ToList();
            return Task.FromResult<(IReadOnlyList<HouseholdRecord>, int)>(([.. matching.Skip(offset).Take(limit).Select(r => r.Copy())], matching.Count));
        }
    }

    public Task<IReadOnlyList<BuildingView>> BuildingsAsync(string grid)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<BuildingView>>([.. Grid(grid).GroupBy(r => r.Building).Select(g =>
            {
                var info = _s.Buildings.GetValueOrDefault(HouseholdIds.Building(grid, g.Key));
                return new BuildingView(HouseholdIds.Building(grid, g.Key), grid, g.Key, info?.Address, info?.Floors,
                    g.Select(r => r.Unit ?? "").Distinct().Count(), g.Count(),
                    g.Count(r => r.Colour == Colour.Green), g.Count(r => r.Colour == Colour.Yellow), g.Count(r => r.Colour == Colour.Red));
            })]);
        }
    }

    public Task<IReadOnlyList<PersonRecord>> PeopleAsync(string householdId)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<PersonRecord>>([.. _s.People.GetValueOrDefault(householdId) ?? []]);
        }
    }

    public Task<IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>>> PeopleOfGridAsync(string grid)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>>>(Grid(grid)
                .Where(r => _s.People.ContainsKey(r.Id))
                .ToDictionary(r => r.Id, r => (IReadOnlyList<PersonRecord>)[.. _s.People[r.Id]], StringComparer.Ordinal));
        }
    }

    public Task<IReadOnlyList<HouseholdLogEntry>> LogAsync(string householdId, int limit)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<HouseholdLogEntry>>([.. (_s.Log.GetValueOrDefault(householdId) ?? []).AsEnumerable().Reverse().Take(limit)]);
        }
    }

    public Task<HouseholdCounts> CountAsync(string grid, DateTimeOffset now)
    {
        lock (_s)
        {
            var rows = Grid(grid).ToList();
            var tags = rows.SelectMany(r => r.Tags).GroupBy(t => t).ToImmutableDictionary(g => g.Key, g => g.Count());
            return Task.FromResult(new HouseholdCounts(rows.Count, rows.Count(r => r.Colour == Colour.Green), rows.Count(r => r.Colour == Colour.Yellow),
                rows.Count(r => r.Colour == Colour.Red), rows.Count(r => r.WarningId is not null), rows.Count(r => r.RevisitDueAt <= now), tags));
        }
    }

    public Task<IReadOnlyList<DueItem>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<DueItem>>(after >= upTo ? [] : [.. _s.Due[shard]
                .GetViewBetween((after, ""), (upTo.AddTicks(1), "")).Where(d => d.At > after).Take(limit)     // ids are never empty: the bounds hold none
                .Select(d => new DueItem(d.Id, d.At))]);
        }
    }

    public Task<IReadOnlyList<HouseholdRecord>> RevisitsDueAsync(string grid, DateTimeOffset upTo, int limit)
    {
        lock (_s)
        {
            return Task.FromResult<IReadOnlyList<HouseholdRecord>>([.. Grid(grid).Where(r => r.RevisitDueAt <= upTo)
                .OrderBy(r => r.RevisitDueAt).Take(limit).Select(r => r.Copy())]);
        }
    }

    private IEnumerable<HouseholdRecord> Grid(string grid) =>
        _s.ByGrid.TryGetValue(grid, out var ids) ? ids.Select(k => _s.Rows[k.Item3]) : [];

    private sealed class Space
    {
        public Dictionary<string, HouseholdRecord> Rows { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, SortedSet<(string Building, string Unit, string Id)>> ByGrid { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, List<PersonRecord>> People { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, List<HouseholdLogEntry>> Log { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, BuildingInfo> Buildings { get; } = new(StringComparer.Ordinal);

        /// <summary>Per deadline shard, every household's current due time, by time.</summary>
        public SortedSet<(DateTimeOffset At, string Id)>[] Due { get; } = [.. Enumerable.Range(0, DeadlineShards.Count).Select(_ =>
            new SortedSet<(DateTimeOffset At, string Id)>(Comparer<(DateTimeOffset At, string Id)>.Create(
                static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id))))];
    }
}
