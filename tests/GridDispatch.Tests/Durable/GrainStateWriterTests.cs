using System.Globalization;
using GridDispatch.Domain;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// Grain state written in group commits: on the very rows the ADO.NET provider reads (so rows of an older build read
/// unchanged), with its version check per write, in few transactions, and with one bad row failing only its own grain.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GrainStateWriterTests(PostgresServer postgres) : IAsyncLifetime
{
    private const string ServiceId = DurableSiloExtensions.DefaultClusterId;

    private DurableHost? _host;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _connectionString = await postgres.CreateDatabaseAsync($"gd_state_{Guid.NewGuid():N}"[..24]);
        _host = await DurableHost.StartAsync(_connectionString);     // migrates the schema
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private IServiceProvider Services => _host!.Services;

    /// <summary>The provider alone, as an older build wrote with it.</summary>
    private IGrainStorage Provider => Services.GetRequiredKeyedService<IGrainStorage>(DurableSiloExtensions.AdoNetStorageName);

    private IGrainStorage Storage => Services.GetRequiredKeyedService<IGrainStorage>(GridDispatchStorage.Name);

    private GrainStateWriter NewWriter(string? connectionString = null, int writersInFlight = 2) => new(
        new DatabaseOptions { ConnectionString = connectionString ?? _connectionString, StateWritersInFlight = writersInFlight },
        ServiceId, Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), NullLogger<GrainStateWriter>.Instance);

    private byte[] Payload(string value) =>
        new OrleansGrainStorageSerializer(Services.GetRequiredService<Serializer>()).Serialize(value).ToArray();

    public static TheoryData<string> KeyKinds => ["string", "integer", "integer+extension", "guid", "guid+extension"];

    private static GrainId IdOf(string kind) => kind switch
    {
        "string" => GrainId.Create("grid", "449901001001001"),
        "integer" => GrainId.Create(GrainType.Create("sweep"), GrainIdKeyExtensions.CreateIntegerKey(7)),
        "integer+extension" => GrainId.Create(GrainType.Create("sweep"), GrainIdKeyExtensions.CreateIntegerKey(7, "east")),
        "guid" => GrainId.Create(GrainType.Create("campaign"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("5b0c8c55-6d4e-4d0f-9d7a-0f6a5f0f2b11"))),
        _ => GrainId.Create(GrainType.Create("campaign"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("5b0c8c55-6d4e-4d0f-9d7a-0f6a5f0f2b11"), "x")),
    };

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public async Task The_provider_and_the_writer_read_and_write_the_same_rows(string kind)
    {
        var id = IdOf(kind);
        var old = new GrainState<string> { State = "written by an older build" };
        await Provider.WriteStateAsync("state", id, old);
        Assert.Equal("1", old.ETag);

        var read = new GrainState<string>();
        await Storage.ReadStateAsync("state", id, read);
        Assert.Equal(("written by an older build", "1"), (read.State, read.ETag));

        read.State = "written in a group commit";
        await Storage.WriteStateAsync("state", id, read);
        Assert.Equal("2", read.ETag);

        var back = new GrainState<string>();
        await Provider.ReadStateAsync("state", id, back);
        Assert.Equal(("written in a group commit", "2", true), (back.State, back.ETag, back.RecordExists));
        Assert.Equal(1, await RowsAsync());     // the same row, not a second one beside it

        // And a first write inserts the row the provider reads.
        var fresh = new GrainState<string> { State = "new" };
        await Storage.WriteStateAsync("fresh", id, fresh);
        var freshBack = new GrainState<string>();
        await Provider.ReadStateAsync("fresh", id, freshBack);
        Assert.Equal(("new", "1"), (freshBack.State, freshBack.ETag));
    }

    [Fact]
    public async Task A_write_with_a_stale_version_conflicts_and_changes_nothing()
    {
        var id = IdOf("string");
        var first = new GrainState<string> { State = "v1" };
        await Storage.WriteStateAsync("state", id, first);
        var stale = new GrainState<string> { State = "from a stale activation", ETag = first.ETag };
        first.State = "v2";
        await Storage.WriteStateAsync("state", id, first);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("state", id, stale));
        var twin = new GrainState<string> { State = "a second activation that read nothing" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("state", id, twin));

        var back = new GrainState<string>();
        await Provider.ReadStateAsync("state", id, back);
        Assert.Equal(("v2", "2"), (back.State, back.ETag));
    }

    [Fact]
    public async Task Writes_queued_together_commit_in_one_transaction()
    {
        var writer = NewWriter();
        var writes = Enumerable.Range(0, 400)
            .Select(i => writer.WriteAsync(GrainStateRowKey.Of("worker", GrainId.Create("worker", $"w-{i}")), null, Payload($"worker {i}")))
            .ToList();
        await writer.StartAsync(CancellationToken.None);

        var versions = await Task.WhenAll(writes);
        await writer.StopAsync(CancellationToken.None);

        Assert.All(versions, v => Assert.Equal(1, v));
        Assert.Equal((1L, 400L), (writer.Commits, writer.Writes));
        Assert.Equal(400, await RowsAsync());
    }

    [Fact]
    public async Task A_row_PostgreSQL_refuses_fails_only_its_own_write()
    {
        var writer = NewWriter(writersInFlight: 1);
        var good = Enumerable.Range(0, 100)
            .Select(i => writer.WriteAsync(GrainStateRowKey.Of("grid", GrainId.Create("grid", $"g-{i}")), null, Payload("ok")))
            .ToList();
        // The key column holds 512 characters: a longer key is refused (SQL state 22001) whenever it is written.
        var bad = writer.WriteAsync(GrainStateRowKey.Of("grid", GrainId.Create("grid", new string('k', 600))), null, Payload("too long"));
        await writer.StartAsync(CancellationToken.None);

        var refused = await Assert.ThrowsAsync<DomainException>(() => bad);
        Assert.Contains("22001", refused.Message, StringComparison.Ordinal);
        Assert.All(await Task.WhenAll(good), v => Assert.Equal(1, v));
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(100, await RowsAsync());
    }

    [Fact]
    public async Task Without_a_database_a_write_fails_as_unavailable_instead_of_hanging()
    {
        var nowhere = $"Host=127.0.0.1;Port={ApiFixture.FreePort().ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=none;Timeout=2";
        var writer = NewWriter(nowhere);
        await writer.StartAsync(CancellationToken.None);

        var write = writer.WriteAsync(GrainStateRowKey.Of("grid", GrainId.Create("grid", "g-1")), null, Payload("x"));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => write.WaitAsync(TimeSpan.FromSeconds(30)));
        await writer.StopAsync(CancellationToken.None);
        await Assert.ThrowsAsync<StoreUnavailableException>(
            () => writer.WriteAsync(GrainStateRowKey.Of("grid", GrainId.Create("grid", "g-2")), null, Payload("x")));
    }

    [Fact]
    public async Task Stopping_commits_what_was_queued()
    {
        var writer = NewWriter();
        var writes = Enumerable.Range(0, 50)
            .Select(i => writer.WriteAsync(GrainStateRowKey.Of("grid", GrainId.Create("grid", $"s-{i}")), null, Payload("x")))
            .ToList();
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.All(await Task.WhenAll(writes), v => Assert.Equal(1, v));
        Assert.Equal(50, await RowsAsync());
    }

    [Fact]
    public async Task Reads_queued_together_go_in_one_statement_and_a_grain_without_a_row_reads_none()
    {
        var writer = NewWriter();
        await writer.StartAsync(CancellationToken.None);
        var keys = Enumerable.Range(0, 300).Select(i => GrainStateRowKey.Of("worker", GrainId.Create("worker", $"r-{i}"))).ToList();
        await Task.WhenAll(keys.Select((k, i) => writer.WriteAsync(k, null, Payload($"worker {i}"))));
        await writer.StopAsync(CancellationToken.None);

        var reader = new GrainStateReader(new DatabaseOptions { ConnectionString = _connectionString }, ServiceId, NullLogger<GrainStateReader>.Instance);
        var reads = keys.Append(GrainStateRowKey.Of("worker", GrainId.Create("worker", "never-written"))).Select(reader.ReadAsync).ToList();
        await reader.StartAsync(CancellationToken.None);
        var rows = await Task.WhenAll(reads);
        await reader.StopAsync(CancellationToken.None);

        Assert.Equal(1, reader.Statements);
        Assert.Null(rows[^1]);
        var serializer = new OrleansGrainStorageSerializer(Services.GetRequiredService<Serializer>());
        Assert.All(rows[..^1].Select((row, i) => (row, i)), r =>
            Assert.Equal(($"worker {r.i}", 1), (serializer.Deserialize<string>(new BinaryData(r.row!.Payload!)), r.row.Version)));
    }

    [Fact]
    public async Task A_cleared_row_reads_as_the_provider_reads_it()
    {
        var id = IdOf("string");
        var state = new GrainState<Dictionary<string, int>> { State = new() { ["a"] = 1 } };
        await Storage.WriteStateAsync("state", id, state);
        await Storage.ClearStateAsync("state", id, state);

        var ours = new GrainState<Dictionary<string, int>>();
        await Storage.ReadStateAsync("state", id, ours);
        var theirs = new GrainState<Dictionary<string, int>>();
        await Provider.ReadStateAsync("state", id, theirs);
        Assert.Equal((theirs.ETag, theirs.RecordExists, 0), (ours.ETag, ours.RecordExists, ours.State!.Count));
        Assert.Equal(("2", false), (ours.ETag, ours.RecordExists));
    }

    /// <summary>Rows of the test grains (the host writes none of its own with these state names).</summary>
    private async Task<long> RowsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM gd_grain_state WHERE grain_type IN ('state', 'worker', 'grid') AND payload IS NOT NULL", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
