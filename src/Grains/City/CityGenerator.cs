using GridDispatch.Domain;

namespace GridDispatch.City;

/// <summary>Shape of a synthetic city.</summary>
public sealed record CitySpec(
    string Code = "4499",
    string Name = "Demo City",
    int Districts = 2,
    int StreetsPerDistrict = 2,
    int CommunitiesPerStreet = 2,
    int GridsPerCommunity = 3,
    int MinHouseholds = 50,
    int MaxHouseholds = 300,
    /// <summary>Workers per grid; 0 = as many as the grid's difficulty recommends.</summary>
    int WorkersPerGrid = 0,
    int Seed = 12345,
    /// <summary>Where the city lies: grid centres are laid out on a lattice of about 500 m from here.</summary>
    double Latitude = 22.54,
    double Longitude = 114.05,
    /// <summary>Fewest buildings a grid has (a sweep makes one task per building).</summary>
    int MinBuildings = 1);

/// <summary>
/// Makes a synthetic city of any size: districts × streets × communities × grids with household counts and difficulty
/// inputs drawn from a seeded generator (the same spec always gives the same city), "1+6+N" workers per grid, community
/// professionals (police, inspector), street and district staff, and the departments the catalogue names with a few staff each.
/// </summary>
public static class CityGenerator
{
    public static CityDefinition Generate(CitySpec spec, CategoryCatalog catalog, DifficultyScorer scorer)
    {
        if (!RegionCode.IsValid(spec.Code, RegionLevel.City))
        {
            throw new ArgumentException("A city code has 4 digits", nameof(spec));
        }

        if (spec.Districts is < 1 or > 99 || spec.StreetsPerDistrict is < 1 or > 999 || spec.CommunitiesPerStreet is < 1 or > 999
            || spec.GridsPerCommunity is < 1 or > 999 || spec.MinHouseholds < 1 || spec.MaxHouseholds < spec.MinHouseholds)
        {
            throw new ArgumentException("Counts out of range: districts 1–99, streets, communities and grids 1–999 each", nameof(spec));
        }

        var random = new Random(spec.Seed);
        var gridIndex = 0;
        var workers = new List<WorkerDefinition>();
        var districts = new List<DistrictDefinition>();
        for (var d = 1; d <= spec.Districts; d++)
        {
            var dCode = $"{spec.Code}{d:D2}";
            var streets = new List<StreetDefinition>();
            for (var s = 1; s <= spec.StreetsPerDistrict; s++)
            {
                var sCode = $"{dCode}{s:D3}";
                var communities = new List<CommunityDefinition>();
                for (var c = 1; c <= spec.CommunitiesPerStreet; c++)
                {
                    var cCode = $"{sCode}{c:D3}";
                    var grids = new List<GridEntry>();
                    for (var g = 1; g <= spec.GridsPerCommunity; g++)
                    {
                        var grid = MakeGrid($"{cCode}{g:D3}", $"Grid {d}-{s}-{c}-{g}", spec, random, gridIndex++);
                        grids.Add(grid);
                        var count = spec.WorkersPerGrid > 0 ? spec.WorkersPerGrid : scorer.RecommendedWorkers(grid.ToDefinition());
                        for (var w = 1; w <= count; w++)
                        {
                            workers.Add(w == 1
                                ? new WorkerDefinition($"w{grid.Code}-{w}", $"Grid worker {grid.Code}-{w}", WorkerKind.FullTime, [grid.Code], Capacity: 10)
                                : new WorkerDefinition($"w{grid.Code}-{w}", $"Part-time worker {grid.Code}-{w}", WorkerKind.PartTime, [grid.Code], Capacity: 5));
                        }
                    }

                    communities.Add(new CommunityDefinition(cCode, $"Community {d}-{s}-{c}", grids));
                    workers.Add(new WorkerDefinition($"w{cCode}-police", $"Community police {cCode}", WorkerKind.Professional, [cCode], ["11", "12"], 8));
                    workers.Add(new WorkerDefinition($"w{cCode}-inspector", $"City inspector {cCode}", WorkerKind.Professional, [cCode], ["01", "02", "03", "04", "13", "14"], 8));
                }

                streets.Add(new StreetDefinition(sCode, $"Street {d}-{s}", communities));
                workers.Add(new WorkerDefinition($"w{sCode}-staff", $"Street staff {sCode}", WorkerKind.FullTime, [sCode], Capacity: 10));
            }

            districts.Add(new DistrictDefinition(dCode, $"District {d}", streets));
            workers.Add(new WorkerDefinition($"w{dCode}-staff", $"District staff {dCode}", WorkerKind.FullTime, [dCode], Capacity: 10));
        }

        var departments = catalog.All.Select(c => c.Department).Where(d => !string.IsNullOrEmpty(d)).Distinct().Order(StringComparer.Ordinal)
            .Select(code => new DepartmentEntry(code, code.Replace('-', ' '))).ToList();
        foreach (var dep in departments)
        {
            for (var i = 1; i <= 2; i++)
            {
                workers.Add(new WorkerDefinition($"{dep.Code}-{i}", $"{dep.Name} officer {i}", WorkerKind.Professional, [], Capacity: 20, Department: dep.Code));
            }
        }

        return new CityDefinition(spec.Code, spec.Name, districts, workers, departments);
    }

    private static GridEntry MakeGrid(string code, string name, CitySpec spec, Random random, int index)
    {
        var side = (int)Math.Ceiling(Math.Sqrt((double)spec.Districts * spec.StreetsPerDistrict * spec.CommunitiesPerStreet * spec.GridsPerCommunity));
        const double step = 0.0045; // about 500 m
        var households = random.Next(spec.MinHouseholds, spec.MaxHouseholds + 1);
        var rentedShare = random.NextDouble() * random.NextDouble(); // most grids have few rented homes, a few have many
        var (lat, lng) = (Math.Round(spec.Latitude + (index / side) * step, 6), Math.Round(spec.Longitude + (index % side) * step, 6));
        return new GridEntry(
            code, name, households,
            FloatingPopulation: (int)(households * rentedShare * 2.5),
            RentedHomes: (int)(households * rentedShare),
            Shops: random.Next(0, 40),
            HighRiseBuildings: random.Next(0, 8),
            Buildings: Math.Max(Math.Max(1, spec.MinBuildings), households / 30 + random.Next(0, 5)),
            Latitude: lat,
            Longitude: lng,
            Boundary: GridCells.Square(new GeoPoint(lat, lng), step / 2));
    }
}

/// <summary>Grid outlines where a city has drawn none: the square cell around the centre.</summary>
public static class GridCells
{
    /// <summary>The corners, clockwise from the south-west, of the square <paramref name="half"/> degrees either side of <paramref name="centre"/>.</summary>
    public static GeoPoint[] Square(GeoPoint centre, double half) =>
    [
        new(Math.Round(centre.Latitude - half, 6), Math.Round(centre.Longitude - half, 6)),
        new(Math.Round(centre.Latitude + half, 6), Math.Round(centre.Longitude - half, 6)),
        new(Math.Round(centre.Latitude + half, 6), Math.Round(centre.Longitude + half, 6)),
        new(Math.Round(centre.Latitude - half, 6), Math.Round(centre.Longitude + half, 6)),
    ];
}
