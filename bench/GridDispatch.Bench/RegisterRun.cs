using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Register;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GridDispatch.Bench;

/// <summary>
/// The household register at megacity size (issue 13): a city of <c>grids</c> grids of 200 households each (1,000,000 by
/// default) imported grid by grid as the API imports a file — CSV text parsed, then merged and written in one
/// transaction per grid — and then the colour counts of a district read as the API reads them (from the region tree's
/// roll-up) against the same counts computed by SQL over the register. On PostgreSQL the ceiling is measured in the same
/// run: the same rows inserted by plain unnest statements into a bare table, with the same parallelism.
/// usage: register [districts=2] [streets=10] [communities=10] [grids=25] [parallelism=16]
/// </summary>
public static class RegisterRun
{
    private const int HouseholdsPerGrid = 200;

    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var spec = new CitySpec(Code: "4496", Name: "Register City", Districts: Arg(0, 2), StreetsPerDistrict: Arg(1, 10),
            CommunitiesPerStreet: Arg(2, 10), GridsPerCommunity: Arg(3, 25), MinHouseholds: HouseholdsPerGrid, MaxHouseholds: HouseholdsPerGrid, WorkersPerGrid: 1);
        var parallelism = Arg(4, 16);
        var warnings = new WarningCounter();
        using var host = await CityHost.StartAsync(spec.Code, warnings);
        var grains = host.Grains;
        var connection = host.ConnectionString;
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var units = await CityLoader.LoadUnitsAsync(grains, city);
        var grids = city.Grids.ToList();
        Console.WriteLine($"{Environment.ProcessorCount} cores; {grids.Count:N0} grids defined in {units.Elapsed.TotalSeconds:F1} s; storage {(connection is null ? "memory" : "postgresql")}");

        // The files, made before the clock starts: one per grid, as a community worker would upload it.
        var files = grids.Select(g => (g.Code, Text: Csv(RegisterGenerator.For(g).Households))).ToList();
        var households = grids.Sum(g => g.Households);
        var tags = HouseholdTagCatalog.LoadDefault();
        var register = grains.GetGrain<IRegisterGrain>(0);
        var perGrid = new List<double>();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (file, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var parsed = HouseholdCsv.Parse(file.Text, tags);
            if (!parsed.Ok)
            {
                throw new InvalidDataException($"grid {file.Code}: {parsed.Errors[0].Message}");
            }

            await register.ImportAsync(file.Code, [.. parsed.Rows.Select(r => new HouseholdInput(r.Building, r.Unit, r.Size, r.Tags,
                r.Name is null && r.Phone is null ? [] : [new PersonInput(r.Name, r.Phone)]))], "bench", "bench import");
            lock (perGrid)
            {
                perGrid.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        var import = watch.Elapsed;
        perGrid.Sort();
        Console.WriteLine($"imported {households:N0} households in {import.TotalSeconds:F1} s ({households / import.TotalSeconds:N0}/s)");
        var figures = new Dictionary<string, object?>
        {
            ["storage"] = connection is null ? "memory" : "postgresql",
            ["grids"] = grids.Count,
            ["households"] = households,
            ["parallelism"] = parallelism,
            ["import_s"] = StormRun.Seconds(import),
            ["import_households_per_s"] = Math.Round(households / import.TotalSeconds),
            ["import_grid_p50_ms"] = Math.Round(BenchReport.Percentile(perGrid, 0.5), 1),
            ["import_grid_p99_ms"] = Math.Round(BenchReport.Percentile(perGrid, 0.99), 1),
        };

        // The counts reach the district through the roll-up: wait until they add up, then read as the API does.
        var district = city.Districts.First().Code;
        var inDistrict = grids.Where(g => g.Code.StartsWith(district, StringComparison.Ordinal)).Sum(g => g.Households);
        var settle = Stopwatch.StartNew();
        while ((await grains.GetRegion(district).GetAsync()).Summary.Households?.Households != inDistrict)
        {
            if (settle.Elapsed > TimeSpan.FromMinutes(3))
            {
                throw new TimeoutException($"district {district} never counted {inDistrict:N0} households");
            }

            await Task.Delay(250);
        }

        figures["counts_settled_after_import_s"] = StormRun.Seconds(settle.Elapsed);
        if (connection is not null)
        {
            var ceiling = await PlainInsertAsync(connection, files.Select(f => (f.Code, RegisterGenerator.For(grids.First(g => g.Code == f.Code)).Households)).ToList(), parallelism);
            figures["plain_insert_s"] = StormRun.Seconds(ceiling);
            figures["import_vs_plain_insert"] = Math.Round(ceiling.TotalSeconds / import.TotalSeconds, 2);
            Console.WriteLine($"plain insert of the same rows (ceiling): {ceiling.TotalSeconds:F1} s");
        }

        var rollup = await TimeAsync(200, async () => (await grains.GetRegion(district).GetAsync()).Summary.Households!.Households);
        figures["district_counts_rollup_p50_ms"] = rollup.P50;
        figures["district_counts_rollup_p99_ms"] = rollup.P99;
        figures["district_households"] = inDistrict;
        if (connection is not null)
        {
            var sql = await TimeAsync(20, () => SqlCountsAsync(connection, district));
            figures["district_counts_sql_p50_ms"] = sql.P50;
            figures["district_counts_sql_p99_ms"] = sql.P99;
        }

        figures["warnings"] = warnings.Total;
        figures["peak_working_set_mib"] = Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024);
        await BenchReport.WriteAsync("register", figures);
    }

    private static string Csv(ImmutableArray<HouseholdInput> households)
    {
        var text = new StringBuilder(string.Join(',', HouseholdCsv.Header)).Append('\n');
        foreach (var h in households)
        {
            var person = h.People.IsDefaultOrEmpty ? null : h.People[0];
            text.Append(h.Building).Append(',').Append(h.Unit).Append(',').Append(h.Size.ToString(CultureInfo.InvariantCulture)).Append(',')
                .AppendJoin(';', h.Tags).Append(',').Append(person?.Name).Append(',').Append(person?.Phone).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Median and p99 of <paramref name="runs"/> sequential calls, in milliseconds (after 5 unmeasured).</summary>
    private static async Task<(double P50, double P99)> TimeAsync<T>(int runs, Func<Task<T>> call)
    {
        for (var i = 0; i < 5; i++)
        {
            await call();
        }

        var times = new List<double>(runs);
        for (var i = 0; i < runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await call();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        times.Sort();
        return (Math.Round(BenchReport.Percentile(times, 0.5), 2), Math.Round(BenchReport.Percentile(times, 0.99), 2));
    }

    private static async Task<long> SqlCountsAsync(string connection, string district)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT colour, count(*) FROM households WHERE grid LIKE $1 GROUP BY colour", db);
        command.Parameters.AddWithValue(district + "%");
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            total += reader.GetInt64(1);
        }

        return total;
    }

    /// <summary>The ceiling: the same households and people as plain rows, one unnest INSERT per grid, no merge, no log.</summary>
    private static async Task<TimeSpan> PlainInsertAsync(string connection, List<(string Grid, ImmutableArray<HouseholdInput> Households)> files, int parallelism)
    {
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var schema = new NpgsqlCommand("""
                DROP TABLE IF EXISTS baseline_households;
                CREATE TABLE baseline_households (id text PRIMARY KEY, grid text NOT NULL, building text NOT NULL, unit text NOT NULL, size smallint NOT NULL,
                    tags text NOT NULL, name text, phone text);
                CREATE INDEX baseline_households_grid ON baseline_households (grid, building, unit);
                """, db);
            await schema.ExecuteNonQueryAsync();
        }

        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (file, ct) =>
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync(ct);
            await using var insert = new NpgsqlCommand("""
                INSERT INTO baseline_households SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[])
                """, db);
            var h = file.Households;
            insert.Parameters.AddWithValue(h.Select(x => HouseholdIds.Household(file.Grid, x.Building, x.Unit)).ToArray());
            insert.Parameters.AddWithValue(h.Select(_ => file.Grid).ToArray());
            insert.Parameters.AddWithValue(h.Select(x => x.Building).ToArray());
            insert.Parameters.AddWithValue(h.Select(x => x.Unit ?? "").ToArray());
            insert.Parameters.AddWithValue(h.Select(x => (short)x.Size).ToArray());
            insert.Parameters.AddWithValue(h.Select(x => string.Join(',', x.Tags)).ToArray());
            insert.Parameters.AddWithValue(h.Select(x => x.People.IsDefaultOrEmpty ? null : x.People[0].Name).ToArray());
            insert.Parameters.AddWithValue(h.Select(x => x.People.IsDefaultOrEmpty ? null : x.People[0].Phone).ToArray());
            await insert.ExecuteNonQueryAsync(ct);
        });
        return watch.Elapsed;
    }
}
