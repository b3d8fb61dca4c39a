using System.Diagnostics.Metrics;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>A <see cref="PostgresIncidentStore"/> of a test's own, on a database of its own, started and stopped by the test.</summary>
internal sealed class StoreUnderTest : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StoreUnderTest(string connection, PostgresIncidentStore store, ServiceProvider services)
    {
        Connection = connection;
        Store = store;
        _services = services;
    }

    public string Connection { get; }

    public PostgresIncidentStore Store { get; }

    public IMeterFactory Meters => _services.GetRequiredService<IMeterFactory>();

    public static async Task<string> NewDatabaseAsync(PostgresServer postgres, bool migrate = true)
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        if (migrate)
        {
            await SchemaMigrator.MigrateAsync(connection);
        }

        return connection;
    }

    public static async Task<StoreUnderTest> StartAsync(string connection, IncidentStoreOptions? options = null)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var store = new PostgresIncidentStore(
            new DatabaseOptions { ConnectionString = connection }, options ?? new IncidentStoreOptions(),
            services.GetRequiredService<IMeterFactory>(), NullLogger<PostgresIncidentStore>.Instance);
        await store.StartAsync(CancellationToken.None);
        return new StoreUnderTest(connection, store, services);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.StopAsync(CancellationToken.None);
        Store.Dispose();
        await _services.DisposeAsync();
        Npgsql.NpgsqlConnection.ClearAllPools();     // its database's pool is of no use to later tests (see DurableHost)
    }

    public static TimelineEntry Entry(int seq, string actor = "leader", string? reason = null) => new(
        seq, new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero).AddSeconds(seq), actor,
        seq == 1 ? IncidentEventKind.Reported : IncidentEventKind.Accepted,
        IncidentState.Reported, seq == 1 ? IncidentState.Reported : IncidentState.Accepted, reason);

    public static TimelineEntry[] Entries(int after, int count, string actor = "leader") =>
        [.. Enumerable.Range(after + 1, count).Select(seq => Entry(seq, actor))];

    /// <summary>The exception the task ends with, or null when it succeeds.</summary>
    public static async Task<Exception?> Outcome(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var db = new NpgsqlConnection(Connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(sql, db);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Transaction ids handed out so far (this call takes one itself).</summary>
    public Task<long> TxidAsync() => ScalarAsync("SELECT txid_current()");
}
