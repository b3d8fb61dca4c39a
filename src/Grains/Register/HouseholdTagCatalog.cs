using System.Collections.Frozen;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GridDispatch.Register;

/// <summary>
/// A tag a city puts on households (elderly living alone, low income, rented, isolated…). <paramref name="Personal"/>
/// tags say something about the people living there and are personal data: shown only where the household's people
/// are (issue 13, privacy). <paramref name="PhoneEveryDays"/> and <paramref name="InPersonEveryDays"/> are the revisit
/// schedule of a household with the tag (null: no revisit of that kind); a household with several tags is revisited
/// at the shortest interval of each kind.
/// </summary>
public sealed record HouseholdTag(string Code, string Name, string NameZh, bool Personal, int? PhoneEveryDays = null, int? InPersonEveryDays = null);

/// <summary>
/// The household tags a city uses: the built-in <c>deploy/catalog/household-tags.json</c>, or a city's own file in
/// the same shape. A code is lower-case letters, digits and hyphens (it appears in URLs, CSV files and filters).
/// </summary>
public sealed partial class HouseholdTagCatalog
{
    private readonly FrozenDictionary<string, HouseholdTag> _tags;

    public HouseholdTagCatalog(IEnumerable<HouseholdTag> tags)
    {
        var byCode = new Dictionary<string, HouseholdTag>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            if (!CodeShape().IsMatch(tag.Code))
            {
                throw new InvalidDataException($"Household tag code '{tag.Code}' must be 1–40 lower-case letters, digits or hyphens");
            }

            if (tag.PhoneEveryDays is <= 0 or > 366 || tag.InPersonEveryDays is <= 0 or > 366)
            {
                throw new InvalidDataException($"Household tag '{tag.Code}' has a revisit interval outside 1–366 days");
            }

            if (string.IsNullOrWhiteSpace(tag.Name) || !byCode.TryAdd(tag.Code, tag))
            {
                throw new InvalidDataException($"Household tag '{tag.Code}' has no name or is listed twice");
            }
        }

        _tags = byCode.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IReadOnlyCollection<HouseholdTag> All => _tags.Values;

    public bool TryGet(string code, out HouseholdTag tag) => _tags.TryGetValue(code, out tag!);

    public static HouseholdTagCatalog LoadDefault()
    {
        using var stream = typeof(HouseholdTagCatalog).Assembly.GetManifestResourceStream("GridDispatch.household-tags.json")
            ?? throw new InvalidOperationException("The embedded household tag catalogue is missing");
        return Parse(stream);
    }

    public static HouseholdTagCatalog Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Parse(stream);
    }

    public static HouseholdTagCatalog Parse(Stream json)
    {
        var file = JsonSerializer.Deserialize<TagFile>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new InvalidDataException("The household tag catalogue is empty");
        return new HouseholdTagCatalog((file.Tags ?? []).Select(t => new HouseholdTag(t.Code ?? "", t.Name ?? "", t.NameZh ?? "", t.Personal,
            t.RevisitDays?.Phone, t.RevisitDays?.InPerson)));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$")]
    private static partial Regex CodeShape();

    private sealed record TagFile(List<TagEntry>? Tags);

    private sealed record TagEntry(string? Code, string? Name, string? NameZh, bool Personal, RevisitEntry? RevisitDays);

    private sealed record RevisitEntry(int? Phone, int? InPerson);
}
