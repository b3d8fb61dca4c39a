namespace GridDispatch.Register;

/// <summary>
/// The household register: rows in PostgreSQL on the durable setup (migration 012), in memory on the embedded default.
/// Never loaded whole: read by household, by page of a grid, and by due time. Every write goes in as changes after the
/// versions read, all of them or none (<see cref="HouseholdConflictException"/> when a row moved on).
/// </summary>
public interface IHouseholdStore
{
    Task<HouseholdRecord?> GetAsync(string id);

    /// <summary>Every household of a grid, for an import to merge into (a grid holds at most a file's worth).</summary>
    Task<IReadOnlyList<HouseholdRecord>> InGridAsync(string grid);

    /// <summary>Writes every change in one transaction, with its log line and people; buildings' facts upserted alongside.</summary>
    Task WriteAsync(IReadOnlyList<HouseholdChange> changes, IReadOnlyList<BuildingInfo>? buildings = null);

    /// <summary>A page of a grid's households by building and unit, filtered by colour and tag, and how many match.</summary>
    Task<(IReadOnlyList<HouseholdRecord> Items, int Total)> ListAsync(string grid, Colour? colour, string? tag, int offset, int limit);

    Task<IReadOnlyList<BuildingView>> BuildingsAsync(string grid);

    Task<IReadOnlyList<PersonRecord>> PeopleAsync(string householdId);

    /// <summary>The people of every household of a grid, by household id (for an export, which masks them).</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>>> PeopleOfGridAsync(string grid);


    /// <summary>The latest log lines of a household, newest first.</summary>
    Task<IReadOnlyList<HouseholdLogEntry>> LogAsync(string householdId, int limit);

    /// <summary>A grid's counts by colour and by tag, open warnings and revisits overdue at <paramref name="now"/>.</summary>
    Task<HouseholdCounts> CountAsync(string grid, DateTimeOffset now);

    /// <summary>Households of a deadline shard whose due time is in (<paramref name="after"/>, <paramref name="upTo"/>], earliest first.</summary>
    Task<IReadOnlyList<DueItem>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit);

    /// <summary>A grid's households whose next revisit is due by <paramref name="upTo"/>, earliest first.</summary>
    Task<IReadOnlyList<HouseholdRecord>> RevisitsDueAsync(string grid, DateTimeOffset upTo, int limit);
}

/// <summary>One row due, as the store's index has it.</summary>
public sealed record DueItem(string Id, DateTimeOffset DueAt);

/// <summary>A household changed since it was read: nothing of the write was stored; read it again and retry.</summary>
/// Stays inside the silo: the grains that write read again and retry.
public sealed class HouseholdConflictException(string householdId)
    : Exception($"Household {householdId} was changed by another writer since it was read")
{
    public string HouseholdId => householdId;
}

/// <summary>A household's people as a write places them.</summary>
public static class HouseholdPeople
{
    /// <summary>The most people a household lists.</summary>
    public const int Max = 20;

    /// <summary>
    /// The new list numbered after the erased ones (who keep their places, blank), so an erased person's place is never
    /// filled again and nobody of the new list is taken for them.
    /// </summary>
    public static IReadOnlyList<PersonRecord> After(IReadOnlyList<PersonRecord> erased, IReadOnlyList<PersonRecord> people)
    {
        var first = erased.Count == 0 ? 1 : erased.Max(p => p.Position) + 1;
        return [.. people.Select((p, i) => p with { Position = first + i })];
    }
}

/// <summary>How many log lines a household keeps: older ones are dropped as new ones are written.</summary>
public static class HouseholdLog
{
    public const int Kept = 200;
}
