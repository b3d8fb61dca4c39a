using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Incidents;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Domain;

public sealed class CatalogueAndCodeTests
{
    private static readonly CategoryCatalog Catalog = CategoryCatalog.LoadDefault();

    [Fact]
    public void The_catalogue_has_the_six_national_event_classes_and_the_six_patrol_classes()
    {
        Assert.Equal(["市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他"],
            Catalog.Classes.Where(c => c.Standard == "national-event").Select(c => c.NameZh));
        Assert.Equal(["Public security", "Public safety", "City management", "Environmental protection", "Livelihood services", "Civility"],
            Catalog.Classes.Where(c => c.Standard == "patrol").Select(c => c.Name));
        Assert.All(Catalog.All, c => Assert.False(string.IsNullOrWhiteSpace(c.AcceptCondition + c.CloseCondition)));
    }

    [Theory]
    [InlineData("0101", "1wd")]   // exposed rubbish: 1 working day
    [InlineData("0102", "4wd")]   // accumulated rubbish or spoil: 4 working days
    [InlineData("0103", "5wh")]   // dirty road: 5 working hours
    [InlineData("0104", "15wd")]  // dirty water surface: 15 working days
    [InlineData("0105", "15wd")]  // illegal building: 15 working days
    public void Handling_limits_follow_the_published_examples(string code, string limit)
    {
        Assert.Equal(TimeLimit.Parse(limit), Catalog.Get(code).HandleLimit);
    }

    [Fact]
    public void Unknown_categories_are_refused_naming_the_field()
    {
        var error = Assert.Throws<DomainException>(() => Catalog.Get("0199"));
        Assert.Equal(("invalid-input", "category"), (error.Code, error.Field));
    }

    [Fact]
    public void A_catalogue_with_a_sub_class_outside_its_class_is_refused()
    {
        const string json = """{"classes":[{"code":"01","name":"A","nameZh":"甲","standard":"x","department":"d","categories":[{"code":"0201","name":"B","nameZh":"乙","limits":{"accept":"1h","dispatch":"1h","handle":"1wd","verify":"1h"},"acceptWhen":"a","closeWhen":"b"}]}]}""";
        Assert.Throws<InvalidDataException>(() => CategoryCatalog.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));
    }

    [Fact]
    public void Region_codes_nest_by_prefix()
    {
        const string grid = "110105003002007";
        Assert.Equal(RegionLevel.Grid, RegionCode.LevelOf(grid));
        Assert.Equal("110105003002", RegionCode.Parent(grid));
        Assert.Equal("110105003", RegionCode.AncestorAt(grid, RegionLevel.Street));
        Assert.Equal("110105", RegionCode.AncestorAt(grid, RegionLevel.District));
        Assert.Equal("1101", RegionCode.AncestorAt(grid, RegionLevel.City));
        Assert.Null(RegionCode.Parent("1101"));
        Assert.Equal("1101:fire", RegionCode.DepartmentKey(grid, "fire"));
        Assert.True(RegionCode.IsWithin(grid, "110105"));
        Assert.False(RegionCode.IsWithin(grid, "110106"));
        Assert.False(RegionCode.IsValid("11010500300200"));
        Assert.False(RegionCode.IsValid("11010500300200x"));
    }

    [Fact]
    public void Difficulty_weighs_households_rentals_floating_population_shops_and_high_rises()
    {
        var scorer = new DifficultyScorer(Options.Create(new DifficultyOptions()));
        var ordinary = new GridDefinition("110105003002007", "ordinary", 200, 30, 20, 5, 0, 8);
        // The field report's hard grid: 500 households, 400 of them sublet, needs two or more workers.
        var hard = new GridDefinition("110105003002008", "hard", 500, 900, 400, 30, 2, 20);

        Assert.Equal(200 + 15 + 16 + 2.5, scorer.Score(ordinary));
        Assert.Equal(1, scorer.RecommendedWorkers(ordinary));
        Assert.True(scorer.RecommendedWorkers(hard) >= 2);

        var heavier = new DifficultyScorer(Options.Create(new DifficultyOptions { RentedHomeWeight = 3 }));
        Assert.True(heavier.Score(hard) > scorer.Score(hard));
    }

    [Fact]
    public void The_generator_makes_a_valid_city_of_the_requested_size_and_the_same_seed_gives_the_same_city()
    {
        var scorer = new DifficultyScorer(Options.Create(new DifficultyOptions()));
        var spec = new CitySpec(Code: "4401", Districts: 3, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: 6, Seed: 7);
        var city = CityGenerator.Generate(spec, Catalog, scorer);

        Assert.Empty(city.Validate());
        Assert.Equal(3 * 4 * 5 * 6, city.Grids.Count());
        Assert.All(city.Grids, g => Assert.InRange(g.Households, spec.MinHouseholds, spec.MaxHouseholds));
        Assert.All(city.Grids, g => Assert.Equal(
            scorer.RecommendedWorkers(g.ToDefinition()), city.Workers.Count(w => w.Units.Count == 1 && w.Units[0] == g.Code)));
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(city, CityDefinition.Json),
            System.Text.Json.JsonSerializer.Serialize(CityGenerator.Generate(spec, Catalog, scorer), CityDefinition.Json));
    }

    [Fact]
    public void City_validation_names_codes_that_do_not_nest()
    {
        var city = new CityDefinition("4401", "x",
            [new DistrictDefinition("440101", "d", [new StreetDefinition("440102001", "s", [])])], [new WorkerDefinition("w", "w", WorkerKind.FullTime, ["440101001001001"])], []);
        var errors = city.Validate();
        Assert.Contains(errors, e => e.Contains("440102001", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown unit", StringComparison.Ordinal));
    }

    [Fact]
    public void The_transition_table_is_a_closed_loop()
    {
        // Every non-terminal state has a way forward; terminal states have none but recording a fact that keeps the
        // state (a missed deadline, an erasure of personal data).
        IncidentEventKind[] recordsOnly = [IncidentEventKind.DeadlineMissed, IncidentEventKind.PersonalDataErased];
        Assert.All(recordsOnly, k => Assert.Null(IncidentRules.Table[k].To));
        foreach (var state in Enum.GetValues<IncidentState>())
        {
            var next = IncidentRules.Table.Where(t => t.Value.From.Contains(state) && !recordsOnly.Contains(t.Key)).ToList();
            if (IncidentRules.IsTerminal(state))
            {
                Assert.Empty(next);
            }
            else
            {
                Assert.NotEmpty(next);
            }
        }

        Assert.Equal(IncidentState.Rated, IncidentRules.Next(IncidentEventKind.Rated, IncidentState.Verified));
        var refused = Assert.Throws<DomainException>(() => IncidentRules.Next(IncidentEventKind.Rated, IncidentState.Reported));
        Assert.Equal(DomainErrors.IllegalTransition, refused.Code);
        Assert.Throws<DomainException>(() => IncidentRules.Next(IncidentEventKind.Accepted, IncidentState.Rated));
        Assert.Throws<DomainException>(() => IncidentRules.Next(IncidentEventKind.Cancelled, IncidentState.Rated));
    }
}
