using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace GridDispatch;

public enum VisitKind
{
    [JsonStringEnumMemberName("phone")] Phone = 0,
    [JsonStringEnumMemberName("in-person")] InPerson = 1,
}

public enum VisitOutcome
{
    [JsonStringEnumMemberName("ok")] Ok = 0,
    /// <summary>Reached, and something is wrong: the household turns yellow until its warning is closed.</summary>
    [JsonStringEnumMemberName("problem")] Problem = 1,
    [JsonStringEnumMemberName("not-reachable")] NotReachable = 2,
}

/// <summary>
/// Ids of the register: a household is its grid, building and unit, so the same line imported again finds the same
/// household (and a re-import updates it instead of adding a second one). Ids carry no personal data and no ':'
/// (they are campaign targets, which live inside task ids).
/// </summary>
public static class HouseholdIds
{
    public static string Household(string grid, string building, string? unit) => $"{grid}-h{Digest(building + "\u001f" + (unit ?? ""))}";

    public static string Building(string grid, string building) => $"{grid}-b{Digest(building)}";

    /// <summary>The grid of a household or building id, or null when it is not one.</summary>
    public static string? GridOf(string id) =>
        id.Length == 27 && id[15] == '-' && id[16] is 'h' or 'b' && RegionCode.IsValid(id[..15], RegionLevel.Grid)
        && id.AsSpan(17).ContainsAnyExcept("0123456789abcdef") is false ? id[..15] : null;

    public static bool IsHousehold(string id) => GridOf(id) is not null && id[16] == 'h';

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];
}

/// <summary>A person of a household as the register records them: personal data, kept apart and erasable.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.PersonInput")]
public sealed record PersonInput([property: Id(0)] string? Name, [property: Id(1)] string? Phone, [property: Id(2)] string? IdNumber = null);

/// <summary>One household to register or update: building and unit (empty for a house), size, tags and its people.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdInput")]
public sealed record HouseholdInput(
    [property: Id(0)] string Building,
    [property: Id(1)] string? Unit,
    [property: Id(2)] int Size,
    [property: Id(3)] ImmutableArray<string> Tags,
    [property: Id(4)] ImmutableArray<PersonInput> People);

[GenerateSerializer, Immutable, Alias("GridDispatch.PersonView")]
public sealed record PersonView(
    [property: Id(0)] string Id,
    [property: Id(1)] string? Name,
    [property: Id(2)] string? Phone,
    [property: Id(3)] string? IdNumber,
    [property: Id(4)] DateTimeOffset? ErasedAt);

/// <summary>A line of a household's log: every change with who and why, and every visit.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdLogEntry")]
public sealed record HouseholdLogEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Kind,
    [property: Id(3)] string What);

/// <summary>The last visit of a household.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.VisitRecord")]
public sealed record VisitRecord(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] VisitKind Kind,
    [property: Id(3)] VisitOutcome Outcome,
    [property: Id(4)] string? Note,
    [property: Id(5)] PhotoList? Photos = null);

/// <summary>
/// A household as the register shows it. <see cref="People"/> and personal tags are there only for callers who may see
/// the household's personal data (the grid's workers and leader, and supervisors above them).
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdView")]
public sealed record HouseholdView(
    [property: Id(0)] string Id,
    [property: Id(1)] string GridCode,
    [property: Id(2)] string Building,
    [property: Id(3)] string? Unit,
    [property: Id(4)] int Size,
    [property: Id(5)] ImmutableArray<string> Tags,
    [property: Id(6)] Colour Colour,
    [property: Id(7)] ImmutableArray<string> Reasons,
    [property: Id(8)] DateTimeOffset? RevisitDueAt,
    [property: Id(9)] VisitKind? RevisitKind,
    [property: Id(10)] string? WarningIncidentId,
    [property: Id(11)] ImmutableArray<string> OpenFindings,
    [property: Id(12)] VisitRecord? LastVisit,
    [property: Id(13)] ImmutableArray<PersonView> People,
    [property: Id(14)] ImmutableArray<HouseholdLogEntry> Log,
    [property: Id(15)] int Version,
    [property: Id(16)] DateTimeOffset UpdatedAt);

[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdPage")]
public sealed record HouseholdPage(
    [property: Id(0)] ImmutableArray<HouseholdView> Items,
    [property: Id(1)] int Page,
    [property: Id(2)] int PageSize,
    [property: Id(3)] int Total);

/// <summary>A building of a grid's register and the colours of its households.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.BuildingView")]
public sealed record BuildingView(
    [property: Id(0)] string Id,
    [property: Id(1)] string GridCode,
    [property: Id(2)] string Name,
    [property: Id(3)] string? Address,
    [property: Id(4)] int? Floors,
    [property: Id(5)] int Units,
    [property: Id(6)] int Households,
    [property: Id(7)] int Green,
    [property: Id(8)] int Yellow,
    [property: Id(9)] int Red);

/// <summary>Counts of a grid's register, rolled up the region tree like the grids' own colours.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdCounts")]
public sealed record HouseholdCounts(
    [property: Id(0)] int Households,
    [property: Id(1)] int Green,
    [property: Id(2)] int Yellow,
    [property: Id(3)] int Red,
    [property: Id(4)] int OpenWarnings,
    [property: Id(5)] int OverdueRevisits,
    [property: Id(6)] ImmutableDictionary<string, int> ByTag)
{
    public static readonly HouseholdCounts Zero = new(0, 0, 0, 0, 0, 0, ImmutableDictionary<string, int>.Empty);

    public HouseholdCounts Add(HouseholdCounts o)
    {
        var tags = ByTag.ToBuilder();
        foreach (var (tag, count) in o.ByTag)
        {
            tags[tag] = tags.GetValueOrDefault(tag) + count;
        }

        return new(Households + o.Households, Green + o.Green, Yellow + o.Yellow, Red + o.Red, OpenWarnings + o.OpenWarnings,
            OverdueRevisits + o.OverdueRevisits, tags.ToImmutable());
    }
}

/// <summary>What an import did: households added, changed, and left as they were.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ImportOutcome")]
public sealed record ImportOutcome(
    [property: Id(0)] string GridCode,
    [property: Id(1)] int Added,
    [property: Id(2)] int Updated,
    [property: Id(3)] int Unchanged);

/// <summary>A colour set by hand, with the reason (green clears a colour set by hand).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.ColourCommand")]
public sealed record ColourCommand([property: Id(0)] string Actor, [property: Id(1)] Colour Colour, [property: Id(2)] string Reason);

/// <summary>A visit: who, by phone or in person, the outcome, a note; findings become incidents linked to the household.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.VisitCommand")]
public sealed record VisitCommand(
    [property: Id(0)] string Actor,
    [property: Id(1)] VisitKind Kind,
    [property: Id(2)] VisitOutcome Outcome,
    [property: Id(3)] string? Note,
    [property: Id(4)] string? Key = null,
    [property: Id(5)] PhotoList? Photos = null);

/// <summary>A household whose revisit is due, for a worker's list.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.DueRevisit")]
public sealed record DueRevisit(
    [property: Id(0)] string HouseholdId,
    [property: Id(1)] string Building,
    [property: Id(2)] string? Unit,
    [property: Id(3)] VisitKind Kind,
    [property: Id(4)] DateTimeOffset DueAt,
    [property: Id(5)] Colour Colour);

/// <summary>A building's facts beyond its name, where a city records them.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.BuildingInfo")]
public sealed record BuildingInfo([property: Id(0)] string Grid, [property: Id(1)] string Name, [property: Id(2)] string? Address, [property: Id(3)] int? Floors);

/// <summary>A line of a grid's export: the household, its colour and next revisit, its first person masked.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.HouseholdExportRow")]
public sealed record HouseholdExportRow(
    [property: Id(0)] string Building,
    [property: Id(1)] string? Unit,
    [property: Id(2)] int Size,
    [property: Id(3)] ImmutableArray<string> Tags,
    [property: Id(4)] Colour Colour,
    [property: Id(5)] DateTimeOffset? RevisitDueAt,
    [property: Id(6)] string? MaskedName,
    [property: Id(7)] string? MaskedPhone);
