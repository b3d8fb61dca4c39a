using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class LiveHubTests(ApiFixture api)
{
    private async Task<HubConnection> ConnectAsync()
    {
        var token = await api.TokenAsync("commander-city");
        var connection = new HubConnectionBuilder().WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        await connection.StartAsync();
        return connection;
    }

    private async Task<string> ReportAsync(string grid, string? key = null)
    {
        var response = await api.Http.PostAsJsonAsync("/api/incidents", new
        {
            category = "0101", severity = "routine", gridCode = grid, description = "live test", source = "live-test",
            externalId = key ?? Guid.NewGuid().ToString("N"),
        });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task A_grid_subscriber_gets_a_snapshot_then_the_push_of_an_incident_reported_over_http()
    {
        const string grid = "449901001002001";
        await using var connection = await ConnectAsync();
        var received = new ConcurrentQueue<JsonElement>();
        connection.On<JsonElement[]>("incidentChanged", items => { foreach (var i in items) received.Enqueue(i); });
        var gridPushes = 0;
        connection.On<JsonElement[]>("gridChanged", _ => Interlocked.Increment(ref gridPushes));

        var snapshot = await connection.InvokeAsync<JsonElement>("Subscribe", $"grid:{grid}");
        Assert.Equal(grid, snapshot.GetProperty("definition").GetProperty("code").GetString());

        var id = await ReportAsync(grid);

        var push = await Eventually.Get(() => Task.FromResult(received.FirstOrDefault(i => i.GetProperty("id").GetString() == id)),
            i => i.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(10), "incidentChanged push");
        Assert.True(push.GetProperty("version").GetInt64() >= 3);
        Assert.Equal("dispatched", push.GetProperty("state").GetProperty("state").GetString());
        Assert.True(push.GetProperty("changedAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        await Eventually.Get(() => Task.FromResult(gridPushes), n => n > 0, TimeSpan.FromSeconds(10), "gridChanged push");
    }

    [Fact]
    public async Task The_hub_tells_a_client_its_clock_so_the_age_of_a_push_can_be_corrected()
    {
        await using var connection = await ConnectAsync();
        var before = DateTimeOffset.UtcNow;
        var server = await connection.InvokeAsync<DateTimeOffset>("ServerTime");
        var after = DateTimeOffset.UtcNow;

        // Same machine, same clock: the answer lies within the round trip.
        Assert.InRange(server, before.AddMilliseconds(-1), after.AddMilliseconds(1));
    }

    [Fact]
    public async Task A_storm_is_coalesced_yet_the_latest_state_of_every_incident_arrives()
    {
        const string grid = "449901001002002";
        await using var connection = await ConnectAsync();
        var messages = 0;
        var latest = new ConcurrentDictionary<string, long>();
        connection.On<JsonElement[]>("incidentChanged", items =>
        {
            Interlocked.Increment(ref messages);
            foreach (var i in items)
            {
                latest.AddOrUpdate(i.GetProperty("id").GetString()!, i.GetProperty("version").GetInt64(), (_, v) => Math.Max(v, i.GetProperty("version").GetInt64()));
            }
        });
        await connection.InvokeAsync<JsonElement>("Subscribe", $"grid:{grid}");

        var started = DateTime.UtcNow;
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => ReportAsync(grid)));
        var finals = new Dictionary<string, long>();
        foreach (var id in ids)
        {
            finals[id] = (await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).Version;
        }

        await Eventually.Get(() => Task.FromResult(latest), l => finals.All(f => l.TryGetValue(f.Key, out var v) && v == f.Value),
            TimeSpan.FromSeconds(15), "latest version of every incident: " + string.Join(", ",
                finals.Where(f => !latest.TryGetValue(f.Key, out var v) || v != f.Value).Select(f => $"{f.Key}={f.Value}/{(latest.TryGetValue(f.Key, out var v) ? v : -1)}")));
        var seconds = Math.Max(1.0, (DateTime.UtcNow - started).TotalSeconds);

        // 40 incidents × at least 3 changes each reached the client in a few batches a second, not one message per change.
        Assert.InRange(messages, 1, (int)Math.Ceiling(seconds * 4 * 2) + 2);
        Assert.True(messages < 40, $"{messages} messages for 40 incidents");
    }

    [Fact]
    public async Task Subscribing_to_an_unknown_or_malformed_topic_is_refused_and_the_connection_stays_usable()
    {
        await using var connection = await ConnectAsync();
        await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement>("Subscribe", "weather:today"));
        await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement>("Subscribe", "incident:does-not-exist"));
        var city = await connection.InvokeAsync<JsonElement>("Subscribe", "city");
        Assert.Equal(ApiFixture.City, city.GetProperty("definition").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_client_that_reconnects_gets_a_snapshot_as_new_as_the_engine()
    {
        const string grid = "449901001002003";
        var id = await ReportAsync(grid);
        await using (var first = await ConnectAsync())
        {
            await first.InvokeAsync<JsonElement>("Subscribe", $"incident:{id}");
        }

        var engine = await api.Grains.GetGrain<IIncidentGrain>(id).CancelAsync(new ActorCommand("dispatcher", "test while offline"));

        await using var second = await ConnectAsync();
        var snapshot = await second.InvokeAsync<JsonElement>("Subscribe", $"incident:{id}");
        Assert.Equal(engine.Version, snapshot.GetProperty("version").GetInt64());
        Assert.Equal("cancelled", snapshot.GetProperty("state").GetString());
    }
}
