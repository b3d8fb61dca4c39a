using GridDispatch.Regions;
using GridDispatch.Workers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace GridDispatch.Tests.Durable;

/// <summary>What an older build of WorkerRecord looked like: no location (id 2) and no KPI ledger (id 4) yet.</summary>
[GenerateSerializer, Alias("GridDispatch.Tests.WorkerRecordBeforeKpis")]
public sealed class WorkerRecordBeforeKpis
{
    [Id(0)] public WorkerProfile? Profile { get; set; }
    [Id(1)] public WorkerStatus Status { get; set; }
    [Id(3)] public Dictionary<string, WorkerTask> Tasks { get; set; } = [];
    [Id(5)] public long Version { get; set; }
}

/// <summary>
/// The storage format chosen for PostgreSQL (the Orleans serializer through <see cref="OrleansGrainStorageSerializer"/>)
/// reads rows written by an older shape of a state class, and older code skips fields it does not know.
/// </summary>
public sealed class StateFormatTests
{
    private static readonly IGrainStorageSerializer Storage = new OrleansGrainStorageSerializer(
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    private static readonly WorkerProfile Profile =
        new("w-1", "Wang Fang", WorkerKind.FullTime, ["449901001001001"], ["01"], 10);

    /// <summary>Records compare ImmutableArray members by reference; compare their contents instead.</summary>
    private static void AssertSame(WorkerProfile expected, WorkerProfile actual)
    {
        Assert.Equal(expected with { Units = [], Categories = [] }, actual with { Units = [], Categories = [] });
        Assert.Equal(expected.Units.ToArray(), actual.Units.ToArray());
        Assert.Equal(expected.Categories.ToArray(), actual.Categories.ToArray());
    }

    [Fact]
    public void State_written_by_an_older_shape_reads_into_the_current_one()
    {
        var old = new WorkerRecordBeforeKpis
        {
            Profile = Profile,
            Status = WorkerStatus.OnPatrol,
            Tasks = { ["i-1"] = new WorkerTask("i-1", "0101", Severity.Urgent, TaskStatus.InProgress, 2, false) },
            Version = 41,
        };

        var current = Storage.Deserialize<WorkerRecord>(Storage.Serialize(old))!;

        AssertSame(Profile, current.Profile!);
        Assert.Equal(WorkerStatus.OnPatrol, current.Status);
        Assert.Equal(2, current.Tasks["i-1"].Weight);
        Assert.Equal(41, current.Version);
        Assert.Null(current.Location);
        Assert.Equal(KpiSet.Zero, current.Kpi.Current());
    }

    [Fact]
    public void Older_code_reads_state_written_by_the_current_shape_skipping_what_it_does_not_know()
    {
        var current = new WorkerRecord { Profile = Profile, Status = WorkerStatus.Busy, Location = new GeoPoint(22.5, 114.1), Version = 7 };
        current.Kpi.Record("i-9", new KpiFacts(true, true, true, false, false, 5, false), terminal: true);

        var old = Storage.Deserialize<WorkerRecordBeforeKpis>(Storage.Serialize(current))!;

        AssertSame(Profile, old.Profile!);
        Assert.Equal((WorkerStatus.Busy, 7L), (old.Status, old.Version));
    }

    [Fact]
    public void Grid_state_round_trips_with_every_field()
    {
        var grid = new GridRecord { Definition = new GridDefinition("449901001001001", "g", 120, 10, 5, 3, 1, 4, new GeoPoint(22.54, 114.05)), Version = 3 };
        grid.Roster.Join(new RosterEntry("w-1", WorkerKind.FullTime, ["01"], WorkerStatus.Available, 2, 10, "449901001001001", 9));

        var back = Storage.Deserialize<GridRecord>(Storage.Serialize(grid))!;

        Assert.Equal(grid.Definition, back.Definition);
        var (before, after) = (grid.Roster.Entries["w-1"], back.Roster.Entries["w-1"]);
        Assert.Equal(before with { Categories = [] }, after with { Categories = [] });
        Assert.Equal(before.Categories.ToArray(), after.Categories.ToArray());
        Assert.Equal(OperatingMode.Default, back.Mode);
    }
}

/// <summary>A database error raised on one silo reaches a caller on another with its SQL state, not as a codec failure.</summary>
public sealed class DatabaseErrorSerializationTests
{
    [Fact]
    public void A_postgres_error_crosses_the_silo_boundary_with_its_message()
    {
        var serializer = new ServiceCollection().AddSerializer()
            .Configure<Orleans.Serialization.ExceptionSerializationOptions>(GridDispatch.Silo.GridDispatchSiloExtensions.AllowDatabaseErrors)
            .BuildServiceProvider().GetRequiredService<Serializer>();
        var error = new Npgsql.PostgresException("sorry, too many clients already", "FATAL", "FATAL", "53300");

        var copy = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(new InvalidOperationException("read failed", error)))!;

        Assert.Contains("53300", copy.InnerException!.Message, StringComparison.Ordinal);
    }
}
