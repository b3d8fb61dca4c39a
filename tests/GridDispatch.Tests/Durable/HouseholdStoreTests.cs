using GridDispatch.Domain;
using GridDispatch.Register;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// The household register's contract, run against PostgreSQL (migration 012) and against the embedded default's
/// in-memory twin, so the two cannot drift apart: all-or-nothing writes after versions, people apart and erasable,
/// a bounded log, paging, counts and due times.
/// </summary>
public abstract class HouseholdStoreContract
{
    protected abstract Task<IHouseholdStore> StoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static string NewGrid() => "4498" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static HouseholdRecord Row(string grid, string building, string unit, Colour colour = Colour.Green, params string[] tags) => new()
    {
        Id = HouseholdIds.Household(grid, building, unit), Grid = grid, Building = building, Unit = unit, Size = 2, Tags = tags,
        Colour = colour, RegisteredAt = T0, UpdatedAt = T0, Reasons = colour == Colour.Green ? [] : ["set by hand"],
    };

    private static HouseholdChange New(HouseholdRecord row, params PersonRecord[] people) =>
        new(row, 0, people, new HouseholdLogEntry(T0, "leader", "import", "registered"));

    [Fact]
    public async Task Rows_are_read_back_as_written_and_listed_by_building_and_unit_with_filters_and_counts()
    {
        var store = await StoreAsync();
        var grid = NewGrid();
        var yellow = Row(grid, "2栋", "101", Colour.Yellow, "rented");
        yellow.WarningId = "x-warning";
        yellow.RevisitDueAt = T0.AddDays(-1);
        yellow.LastVisit = new VisitRecord(T0, "w", VisitKind.InPerson, VisitOutcome.Problem, "leak");
        await store.WriteAsync([New(Row(grid, "1栋", "102", Colour.Green, "elderly-alone")), New(yellow), New(Row(grid, "1栋", "101")), New(Row(NewGrid(), "1栋", "101"))],
            [new BuildingInfo(grid, "1栋", "Lane 3, No. 1", 6)]);

        var read = (await store.GetAsync(yellow.Id))!;
        Assert.Equal((1, Colour.Yellow, "x-warning", "rented", VisitOutcome.Problem, T0.AddDays(-1)),
            (read.Version, read.Colour, read.WarningId, read.Tags.Single(), read.LastVisit!.Outcome, read.RevisitDueAt!.Value));
        Assert.Equal(["1栋/101", "1栋/102", "2栋/101"], (await store.InGridAsync(grid)).Select(r => $"{r.Building}/{r.Unit}"));

        var (page, total) = await store.ListAsync(grid, null, null, 1, 1);
        Assert.Equal((3, "1栋/102"), (total, page.Single().Building + "/" + page.Single().Unit));
        Assert.Equal([yellow.Id], (await store.ListAsync(grid, Colour.Yellow, null, 0, 10)).Items.Select(r => r.Id));
        Assert.Equal(1, (await store.ListAsync(grid, null, "elderly-alone", 0, 10)).Total);

        var counts = await store.CountAsync(grid, T0);
        Assert.Equal((3, 2, 1, 0, 1, 1), (counts.Households, counts.Green, counts.Yellow, counts.Red, counts.OpenWarnings, counts.OverdueRevisits));
        Assert.Equal((1, 1), (counts.ByTag["rented"], counts.ByTag["elderly-alone"]));

        var buildings = await store.BuildingsAsync(grid);
        Assert.Equal([("1栋", "Lane 3, No. 1", 6, 2, 2, 0), ("2栋", null, null, 1, 1, 1)],
            buildings.Select(b => (b.Name, b.Address, b.Floors, b.Units, b.Households, b.Yellow)));
    }

    [Fact]
    public async Task A_write_after_a_stale_version_stores_nothing_of_its_batch()
    {
        var store = await StoreAsync();
        var grid = NewGrid();
        var row = Row(grid, "1栋", "101");
        await store.WriteAsync([New(row)]);
        var changed = row.Copy();
        changed.Colour = Colour.Red;
        await store.WriteAsync([new HouseholdChange(changed, 1, null, new HouseholdLogEntry(T0, "w", "colour", "red"))]);

        // A second writer still at version 1, batched with a new household: neither is stored.
        var stale = row.Copy();
        stale.Size = 5;
        var fresh = Row(grid, "1栋", "102");
        await Assert.ThrowsAsync<HouseholdConflictException>(() => store.WriteAsync(
            [New(fresh), new HouseholdChange(stale, 1, null, new HouseholdLogEntry(T0, "other", "import", "size"))]));
        Assert.Null(await store.GetAsync(fresh.Id));
        var kept = (await store.GetAsync(row.Id))!;
        Assert.Equal((2, Colour.Red, 2), (kept.Version, kept.Colour, kept.Size));

        // A household registered twice as new is a conflict too; a people-only change checks the version but keeps the row.
        await Assert.ThrowsAsync<HouseholdConflictException>(() => store.WriteAsync([New(Row(grid, "1栋", "101"))]));
        await Assert.ThrowsAsync<HouseholdConflictException>(() => store.WriteAsync([new HouseholdChange(kept, 1, [new PersonRecord(1, "A", "1", null)], null, RowChanged: false)]));
        await store.WriteAsync([new HouseholdChange(kept, 2, [new PersonRecord(1, "A", "123", null)], null, RowChanged: false)]);
        Assert.Equal(2, (await store.GetAsync(row.Id))!.Version);
        Assert.Equal("123", (await store.PeopleAsync(row.Id)).Single().Phone);
    }

    [Fact]
    public async Task People_are_replaced_by_a_write_but_an_erased_person_keeps_their_place_erased()
    {
        var store = await StoreAsync();
        var row = Row(NewGrid(), "1栋", "101");
        await store.WriteAsync([New(row, new PersonRecord(1, "王芳", "13800000001", "11010519491231002X"), new PersonRecord(2, "李雷", "13900000002", null))]);

        // The erasure goes with its log line, after the version read: a stale one erases nothing.
        var erase = new HouseholdChange(row, 1, null, new HouseholdLogEntry(T0, "district-admin", "erasure", "person 1 erased"), Erase: new PersonErasure(1, "district-admin"));
        await store.WriteAsync([erase]);
        await Assert.ThrowsAsync<HouseholdConflictException>(() => store.WriteAsync([erase with { Erase = new PersonErasure(2, "district-admin") }]));
        Assert.Equal("13900000002", (await store.PeopleAsync(row.Id)).Single(p => p.Position == 2).Phone);
        Assert.Equal("person 1 erased", (await store.LogAsync(row.Id, 10)).Single().What);

        // A file listing them in another order: the erased place stays blank, and the list follows it, nobody dropped.
        await store.WriteAsync([new HouseholdChange(row, 2, [new PersonRecord(1, "李雷", "13700000003", null), new PersonRecord(2, "韩梅梅", null, null)],
            new HouseholdLogEntry(T0, "leader", "import", "again"))]);
        var people = await store.PeopleAsync(row.Id);
        Assert.Equal([(1, null, null, null, "district-admin"), (2, "李雷", "13700000003", null, null), (3, "韩梅梅", null, null, null)],
            people.Select(p => (p.Position, p.Name, p.Phone, p.IdNumber, p.ErasedBy)));
        Assert.NotNull(people[0].ErasedAt);
    }

    [Fact]
    public async Task The_log_keeps_the_latest_lines_only_and_due_rows_are_found_by_shard_and_window()
    {
        var store = await StoreAsync();
        var row = Row(NewGrid(), "1栋", "101");
        row.DueAt = T0.AddDays(7);
        await store.WriteAsync([New(row)]);
        for (var v = 1; v <= HouseholdLog.Kept + 4; v++)
        {
            await store.WriteAsync([new HouseholdChange(row, v, null, new HouseholdLogEntry(T0.AddMinutes(v), "w", "visit", $"visit {v}"))]);
        }

        var log = await store.LogAsync(row.Id, 1000);
        Assert.Equal(HouseholdLog.Kept, log.Count);
        Assert.Equal($"visit {HouseholdLog.Kept + 4}", log[0].What);

        var shard = DeadlineShards.Of(row.Id);
        Assert.Contains(await store.DueAsync(shard, T0.AddDays(6), T0.AddDays(8), 500), d => d.Id == row.Id && d.DueAt == T0.AddDays(7));
        Assert.DoesNotContain(await store.DueAsync(shard, T0.AddDays(7), T0.AddDays(8), 500), d => d.Id == row.Id);     // after is exclusive
        Assert.DoesNotContain(await store.DueAsync((shard + 1) % DeadlineShards.Count, T0, T0.AddDays(8), 500), d => d.Id == row.Id);
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresHouseholdStoreTests(PostgresServer postgres) : HouseholdStoreContract
{
    private static string? _connectionString;

    protected override async Task<IHouseholdStore> StoreAsync()
    {
        if (_connectionString is null)
        {
            var connection = await postgres.CreateDatabaseAsync($"gd_households_{Guid.NewGuid():N}"[..28]);
            await SchemaMigrator.MigrateAsync(connection);
            _connectionString = connection;
        }

        return new PostgresHouseholdStore(new DatabaseOptions { ConnectionString = _connectionString });
    }
}

public sealed class MemoryHouseholdStoreTests : HouseholdStoreContract
{
    protected override Task<IHouseholdStore> StoreAsync() =>
        Task.FromResult<IHouseholdStore>(new MemoryHouseholdStore(Options.Create(new ClusterOptions { ServiceId = "store-tests", ClusterId = "memory" })));
}

/// <summary>The register through the grains on PostgreSQL: what a household's grain wrote, and its grid's counts, survive a restart.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DurableRegisterTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_households_colour_warning_people_and_its_grids_counts_survive_a_restart()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var city = TestCity.Create();
        city.AddWorker("a", [city.Grid]);
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        string warning;
        await using (var first = await DurableHost.StartAsync(connection))
        {
            await city.LoadAsync(first.Grains);
            await first.Grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid,
                [new HouseholdInput("1栋", "101", 2, ["elderly-alone"], [new PersonInput("王芳", "13800000001")]), new HouseholdInput("1栋", "102", 1, [], [])], "leader", "collection");
            var red = await first.Grains.GetGrain<IHouseholdGrain>(id).SetColourAsync(new ColourCommand("leader", Colour.Red, "fell at home"));
            warning = red.WarningIncidentId!;
            await Eventually.Get(() => first.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Summary.Households is { Red: 1, Households: 2 },
                TimeSpan.FromSeconds(20), "the grid counts the red household");
            await Eventually.Get(() => first.Grains.GetGrain<IIncidentGrain>(warning).GetAsync(), w => w.Assignee is not null, TimeSpan.FromSeconds(20), "the warning dispatched");
        }

        await using var second = await DurableHost.StartAsync(connection);
        var household = await second.Grains.GetGrain<IHouseholdGrain>(id).GetAsync();
        Assert.Equal((Colour.Red, warning, "13800000001"), (household.Colour, household.WarningIncidentId, household.People[0].Phone));
        Assert.Contains(household.Log, l => l.Kind == "colour" && l.What == "set red: fell at home");
        Assert.Contains(household.Log, l => l.Kind == "import" && l.Actor == "leader");      // the registration, kept in the row
        var incident = await second.Grains.GetGrain<IIncidentGrain>(warning).GetAsync();
        Assert.Equal((id, "1505"), (incident.Household, incident.Category));
        var grid = await second.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync();
        Assert.Equal((2, 1, 1), (grid.Summary.Households!.Households, grid.Summary.Households.Red, grid.Summary.Households.OpenWarnings));
        Assert.Equal(2, (await second.Grains.GetGrain<IRegisterGrain>(0).ListAsync(city.Grid, null, null, 1, 10)).Total);
    }
}
