using System.Collections.Concurrent;
using System.Text.Json;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Tests.Api;

/// <summary>A live connection is worth no more than its token, and a subscription no more than the caller's access now.</summary>
[Collection(ApiCollection.Name)]
public sealed class LiveAccessTests(ApiFixture api)
{
    private async Task<HubConnection> ConnectAsync(string token)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await connection.StartAsync();
        return connection;
    }

    [Fact]
    public async Task A_connection_whose_token_expires_is_closed()
    {
        var token = ApiFixture.Sign("admin-expiring", "street-admin", "449901001", expires: DateTime.UtcNow.AddSeconds(3));
        await using var connection = await ConnectAsync(token);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += e =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        await connection.InvokeAsync<JsonElement>("Subscribe", "region:449901001");

        var finished = await Task.WhenAny(closed.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(finished == closed.Task, "the connection outlived its token by 17 s");
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task A_subscription_ends_when_the_worker_moves_out_of_the_callers_region()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("mover", [city.Grid]);
        await city.LoadAsync(api.Grains);
        var elsewhere = TestCity.Create();
        await elsewhere.LoadAsync(api.Grains);

        await using var connection = await ConnectAsync(ApiFixture.Sign("admin-of-street", "street-admin", city.Street));
        var ended = new ConcurrentQueue<JsonElement>();
        var pushes = new ConcurrentQueue<JsonElement>();
        connection.On<JsonElement>("subscriptionEnded", e => ended.Enqueue(e));
        connection.On<JsonElement[]>("workerChanged", items => { foreach (var i in items) pushes.Enqueue(i); });
        var snapshot = await connection.InvokeAsync<JsonElement>("Subscribe", $"worker:{worker}");
        Assert.Equal(worker, snapshot.GetProperty("profile").GetProperty("id").GetString());

        // The worker is moved to another city's grid: the street administrator may no longer follow them.
        var grain = api.Grains.GetGrain<IWorkerGrain>(worker);
        var profile = (await grain.GetAsync()).Profile;
        await grain.RegisterAsync(profile with { Units = [elsewhere.Grid] });

        var end = await Eventually.Get(() => Task.FromResult(ended.FirstOrDefault()), e => e.ValueKind == JsonValueKind.Object,
            TimeSpan.FromSeconds(10), "subscriptionEnded");
        Assert.Equal($"worker:{worker}", end.GetProperty("topic").GetString());

        // From then on the worker's changes no longer reach this connection, and subscribing again is refused.
        await Task.Delay(300);
        pushes.Clear();
        await grain.SetStatusAsync(WorkerStatus.OnPatrol);
        await Task.Delay(1500);
        Assert.Empty(pushes);
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => connection.InvokeAsync<JsonElement>("Subscribe", $"worker:{worker}"));
    }
}
