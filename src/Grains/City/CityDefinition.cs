using System.Text.Json;
using System.Text.Json.Serialization;

namespace GridDispatch.City;

/// <summary>A city as a definition file describes it (deploy/cities/*.json).</summary>
public sealed record CityDefinition(
    string Code,
    string Name,
    IReadOnlyList<DistrictDefinition> Districts,
    IReadOnlyList<WorkerDefinition> Workers,
    IReadOnlyList<DepartmentEntry> Departments)
{
    public IEnumerable<StreetDefinition> Streets => Districts.SelectMany(d => d.Streets);

    public IEnumerable<CommunityDefinition> Communities => Streets.SelectMany(s => s.Communities);

    public IEnumerable<GridEntry> Grids => Communities.SelectMany(c => c.Grids);

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static CityDefinition Read(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<CityDefinition>(stream, Json) ?? throw new InvalidDataException($"{path} holds no city");
    }

    public void Write(string path)
    {
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, this, Json);
    }

    /// <summary>Checks codes nest (every child code extends its parent's), are unique, and workers serve known units.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        void Check(string code, RegionLevel level, string? parent, string name)
        {
            if (!RegionCode.IsValid(code, level))
            {
                errors.Add($"{level} '{name}': code '{code}' must have {RegionCode.LengthOf(level)} digits");
            }
            else if (parent is not null && !code.StartsWith(parent, StringComparison.Ordinal))
            {
                errors.Add($"{level} '{name}': code '{code}' does not start with its parent's code '{parent}'");
            }

            if (!seen.Add(code))
            {
                errors.Add($"code '{code}' appears twice");
            }
        }

        Check(Code, RegionLevel.City, null, Name);
        foreach (var d in Districts)
        {
            Check(d.Code, RegionLevel.District, Code, d.Name);
            foreach (var s in d.Streets)
            {
                Check(s.Code, RegionLevel.Street, d.Code, s.Name);
                foreach (var c in s.Communities)
                {
                    Check(c.Code, RegionLevel.Community, s.Code, c.Name);
                    foreach (var g in c.Grids)
                    {
                        Check(g.Code, RegionLevel.Grid, c.Code, g.Name);
                    }
                }
            }
        }

        var departments = Departments.Select(d => d.Code).ToHashSet(StringComparer.Ordinal);
        var workerIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in Workers)
        {
            if (!workerIds.Add(w.Id))
            {
                errors.Add($"worker id '{w.Id}' appears twice");
            }

            errors.AddRange(w.Units.Where(u => !seen.Contains(u)).Select(u => $"worker '{w.Id}' serves unknown unit '{u}'"));
            if (w.Department is { } dep && !departments.Contains(dep))
            {
                errors.Add($"worker '{w.Id}' belongs to unknown department '{dep}'");
            }

            if (w.Units.Count == 0 && w.Department is null)
            {
                errors.Add($"worker '{w.Id}' serves no unit and no department");
            }
        }

        return errors;
    }
}

public sealed record DistrictDefinition(string Code, string Name, IReadOnlyList<StreetDefinition> Streets);

public sealed record StreetDefinition(string Code, string Name, IReadOnlyList<CommunityDefinition> Communities);

public sealed record CommunityDefinition(string Code, string Name, IReadOnlyList<GridEntry> Grids);

/// <summary>A grid with the counts its difficulty is scored from.</summary>
public sealed record GridEntry(
    string Code,
    string Name,
    int Households,
    int FloatingPopulation = 0,
    int RentedHomes = 0,
    int Shops = 0,
    int HighRiseBuildings = 0,
    int Buildings = 0,
    double? Latitude = null,
    double? Longitude = null,
    IReadOnlyList<GeoPoint>? Boundary = null)
{
    public GeoPoint? Centre => Latitude is { } lat && Longitude is { } lng ? new GeoPoint(lat, lng) : null;

    /// <summary>The grid's outline on the map: the ring of its corners as the city draws it (the generator: its square cell).</summary>
    public GridDefinition ToDefinition() =>
        new(Code, Name, Households, FloatingPopulation, RentedHomes, Shops, HighRiseBuildings, Buildings, Centre,
            Boundary is { Count: > 0 } ring ? [.. ring] : null);
}

public sealed record WorkerDefinition(
    string Id,
    string Name,
    WorkerKind Kind,
    IReadOnlyList<string> Units,
    IReadOnlyList<string>? Categories = null,
    int Capacity = 10,
    string? Department = null,
    WorkerStatus Status = WorkerStatus.Available,
    string? Phone = null)
{
    /// <summary>The profile as the worker grain takes it; the department becomes its city-scoped key.</summary>
    public WorkerProfile ToProfile(string cityCode) =>
        new(Id, Name, Kind, [.. Units], [.. Categories ?? []], Capacity,
            Department is null ? null : RegionCode.DepartmentKey(cityCode, Department), Status);
}

public sealed record DepartmentEntry(string Code, string Name);
