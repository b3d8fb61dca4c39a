using System.Globalization;
using GridDispatch.City;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Silo;

/// <summary><c>generate-city --districts N --streets N --communities N --grids N [--workers-per-grid N] [--code 4499] [--name X] [--seed N] --out FILE</c></summary>
public static class CityTool
{
    public static int Generate(string[] args)
    {
        var spec = new CitySpec();
        string? output = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            int Int() => int.Parse(value, CultureInfo.InvariantCulture);
            spec = args[i] switch
            {
                "--districts" => spec with { Districts = Int() },
                "--streets" => spec with { StreetsPerDistrict = Int() },
                "--communities" => spec with { CommunitiesPerStreet = Int() },
                "--grids" => spec with { GridsPerCommunity = Int() },
                "--workers-per-grid" => spec with { WorkersPerGrid = Int() },
                "--min-households" => spec with { MinHouseholds = Int() },
                "--max-households" => spec with { MaxHouseholds = Int() },
                "--code" => spec with { Code = value },
                "--name" => spec with { Name = value },
                "--seed" => spec with { Seed = Int() },
                "--out" => spec,
                var other => throw new ArgumentException($"Unknown option {other}"),
            };
            if (args[i] == "--out")
            {
                output = value;
            }
        }

        if (output is null)
        {
            Console.Error.WriteLine("usage: generate-city --districts N --streets N --communities N --grids N [--workers-per-grid N] [--code 4499] [--name NAME] [--seed N] --out FILE");
            return 2;
        }

        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        city.Write(output);
        Console.WriteLine($"{output}: {city.Districts.Count} districts, {city.Streets.Count()} streets, {city.Communities.Count()} communities, {city.Grids.Count()} grids, {city.Workers.Count} workers");
        return 0;
    }
}
