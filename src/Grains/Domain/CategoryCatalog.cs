using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

public enum TimeLimitUnit
{
    Minutes,
    Hours,
    WorkingHours,
    WorkingDays,
}

/// <summary>A handling limit as the catalogues state it: "30m", "2h" (wall clock), "5wh" (working hours), "15wd" (working days).</summary>
public readonly record struct TimeLimit(double Amount, TimeLimitUnit Unit)
{
    public static TimeLimit Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        (string suffix, TimeLimitUnit unit)[] units =
            [("wd", TimeLimitUnit.WorkingDays), ("wh", TimeLimitUnit.WorkingHours), ("m", TimeLimitUnit.Minutes), ("h", TimeLimitUnit.Hours)];
        foreach (var (suffix, unit) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
                && amount > 0)
            {
                return new TimeLimit(amount, unit);
            }
        }

        throw new FormatException($"'{text}' is not a time limit such as 30m, 2h, 5wh or 15wd");
    }

    public override string ToString() => Unit switch
    {
        TimeLimitUnit.Minutes => $"{Amount}m",
        TimeLimitUnit.Hours => $"{Amount}h",
        TimeLimitUnit.WorkingHours => $"{Amount}wh",
        _ => $"{Amount}wd",
    };
}

/// <summary>One sub-class of the catalogue, with its owner, limits per step and filing and closing conditions.</summary>
public sealed record Category(
    string Code,
    string Name,
    string NameZh,
    string ClassCode,
    string Department,
    TimeLimit AcceptLimit,
    TimeLimit DispatchLimit,
    TimeLimit HandleLimit,
    TimeLimit VerifyLimit,
    string AcceptCondition,
    string CloseCondition,
    bool Public = true,
    bool Reportable = true);

public sealed record CategoryClass(string Code, string Name, string NameZh, string Standard, IReadOnlyList<Category> Categories);

/// <summary>Options naming the catalogue file; without one, the catalogue shipped in the assembly is used.</summary>
public sealed class CatalogOptions
{
    public const string Section = "GridDispatch:Catalog";

    public string? Path { get; set; }

    /// <summary>A city's own household tag catalogue (the shape of deploy/catalog/household-tags.json); the built-in one when unset.</summary>
    public string? HouseholdTagsPath { get; set; }

    public static SettingRules<CatalogOptions> Rules => new SettingRules<CatalogOptions>(Section)
        .That(nameof(Path), o => o.Path, o => o.Path is not { Length: > 0 } p || File.Exists(p), "names a file that exists (or is unset for the built-in catalogue)")
        .That(nameof(HouseholdTagsPath), o => o.HouseholdTagsPath, o => o.HouseholdTagsPath is not { Length: > 0 } p || File.Exists(p),
            "names a file that exists (or is unset for the built-in catalogue)");
}

/// <summary>
/// The category catalogue: top classes (the six event classes of the national digital city-management standard and
/// the six classes grid workers patrol for) with their sub-classes. Loaded once per silo; read-only.
/// </summary>
public sealed class CategoryCatalog
{
    private readonly Dictionary<string, Category> _byCode;

    public CategoryCatalog(IReadOnlyList<CategoryClass> classes)
    {
        Classes = classes;
        _byCode = new(StringComparer.Ordinal);
        foreach (var c in classes.SelectMany(c => c.Categories))
        {
            if (!_byCode.TryAdd(c.Code, c))
            {
                throw new InvalidDataException($"Category code {c.Code} appears twice in the catalogue");
            }
        }
    }

    public CategoryCatalog(IOptions<CatalogOptions> options)
        : this(LoadClasses(options.Value.Path))
    {
    }

    public IReadOnlyList<CategoryClass> Classes { get; }

    public IEnumerable<Category> All => Classes.SelectMany(c => c.Categories);

    /// <summary>Refuses a report from outside in a category only the engine opens (a household warning).</summary>
    public void RequireReportable(string? code, string field)
    {
        if (TryGet(code, out var category) && !category.Reportable)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Category {code} ({category.Name}) is opened by the household register, not reported", field);
        }
    }

    public bool TryGet(string? code, out Category category)
    {
        category = null!;
        return code is not null && _byCode.TryGetValue(code, out category!);
    }

    public Category Get(string code) =>
        TryGet(code, out var c) ? c : throw new DomainException(DomainErrors.InvalidInput, $"Unknown category '{code}'", "category");

    public static CategoryCatalog LoadDefault() => new(LoadClasses(null));

    public static IReadOnlyList<CategoryClass> LoadClasses(string? path)
    {
        using var stream = path is null
            ? typeof(CategoryCatalog).Assembly.GetManifestResourceStream("GridDispatch.categories.json")
              ?? throw new InvalidOperationException("The embedded category catalogue is missing")
            : File.OpenRead(path);
        return Parse(stream);
    }

    public static IReadOnlyList<CategoryClass> Parse(Stream json)
    {
        var file = JsonSerializer.Deserialize<CatalogFile>(json, JsonOptions)
            ?? throw new InvalidDataException("The category catalogue is empty");
        return [.. file.Classes.Select(c => new CategoryClass(c.Code, c.Name, c.NameZh, c.Standard,
            [.. c.Categories.Select(s => ToCategory(c, s))]))];
    }

    private static Category ToCategory(ClassDto cls, CategoryDto s)
    {
        if (s.Code.Length != 4 || !s.Code.StartsWith(cls.Code, StringComparison.Ordinal) || !s.Code.All(char.IsAsciiDigit))
        {
            throw new InvalidDataException($"Category code '{s.Code}' must be 4 digits starting with its class code {cls.Code}");
        }

        return new Category(s.Code, s.Name, s.NameZh, cls.Code, s.Department ?? cls.Department ?? "",
            TimeLimit.Parse(s.Limits.Accept), TimeLimit.Parse(s.Limits.Dispatch), TimeLimit.Parse(s.Limits.Handle),
            TimeLimit.Parse(s.Limits.Verify), s.AcceptWhen, s.CloseWhen, s.Public, s.Reportable);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private sealed record CatalogFile(List<ClassDto> Classes);

    private sealed record ClassDto(string Code, string Name, string NameZh, string Standard, string Department, List<CategoryDto> Categories);

    /// <param name="Public">False for categories whose cases are about people (disputes, special-population visits): they
    /// never appear on public boards or anonymous Open311 listings, and their text is never shown there.</param>
    /// <param name="Reportable">False for categories only the engine opens (household warnings): never offered to
    /// reporters, and refused at intake.</param>
    private sealed record CategoryDto(string Code, string Name, string NameZh, string? Department, LimitsDto Limits, string AcceptWhen, string CloseWhen,
        bool Public = true, bool Reportable = true);

    private sealed record LimitsDto(string Accept, string Dispatch, string Handle, string Verify);
}
