using GridDispatch.City;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// Small cities built by hand for one test each. Every city gets its own 4-digit code, so tests sharing the cluster
/// never see each other's grids, workers or departments.
/// </summary>
public sealed class TestCity
{
    private static int _next = 1000;

    private readonly int _buildings;

    private TestCity(int communities, int gridsPerCommunity, int buildings)
    {
        _buildings = buildings;
        Code = Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture);
        District = Code + "01";
        Street = District + "001";
        Communities = [.. Enumerable.Range(1, communities).Select(c => $"{Street}{c:D3}")];
        Grids = [.. Communities.SelectMany(c => Enumerable.Range(1, gridsPerCommunity).Select(g => $"{c}{g:D3}"))];
    }

    public string Code { get; }
    public string District { get; }
    public string Street { get; }
    public string Community => Communities[0];
    public IReadOnlyList<string> Communities { get; }
    public string Grid => Grids[0];
    public IReadOnlyList<string> Grids { get; }
    public List<WorkerDefinition> Workers { get; } = [];
    public List<DepartmentEntry> Departments { get; } = [];

    public static TestCity Create(int communities = 1, int gridsPerCommunity = 1, int buildings = 4) => new(communities, gridsPerCommunity, buildings);

    /// <summary>Adds a worker serving <paramref name="units"/>; its id is unique to this city.</summary>
    public string AddWorker(string name, IReadOnlyList<string> units, int capacity = 10, IReadOnlyList<string>? categories = null,
        WorkerStatus status = WorkerStatus.Available, string? department = null, WorkerKind kind = WorkerKind.FullTime)
    {
        var id = $"{Code}-{name}";
        Workers.Add(new WorkerDefinition(id, name, kind, units, categories, capacity, department, status));
        return id;
    }

    private GeoPoint? _origin;

    /// <summary>Places the grids on the map: a row of 500 m cells eastwards from <paramref name="origin"/>.</summary>
    public TestCity At(GeoPoint origin)
    {
        _origin = origin;
        return this;
    }

    private GridEntry Entry(string g) => new(g, $"Grid {g}", 120, 40, 10, 5, 1, _buildings,
        _origin?.Latitude, _origin is { } o ? Math.Round(o.Longitude + Grids.ToList().IndexOf(g) * 0.0045, 6) : null);

    public CityDefinition Definition() => new(
        Code, $"Test city {Code}",
        [new DistrictDefinition(District, "District", [new StreetDefinition(Street, "Street",
            [.. Communities.Select(c => new CommunityDefinition(c, $"Community {c}",
                [.. Grids.Where(g => g.StartsWith(c, StringComparison.Ordinal)).Select(Entry)]))])])],
        Workers, Departments);

    public async Task<TestCity> LoadAsync(IGrainFactory grains)
    {
        var report = await CityLoader.LoadAsync(grains, Definition());
        Assert.True(report.Succeeded, string.Join("\n", report.Failures));
        return this;
    }
}
