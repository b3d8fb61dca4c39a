using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace GridDispatch.Tests.Durable;

/// <summary>Two API hosts (each a silo) in one cluster on PostgreSQL: a report sent to one reaches a browser-side client of the other.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiHostLiveTests(PostgresServer postgres)
{
    private static async Task<WebApplication> StartApiAsync(string connection, bool loadCity) =>
        await Start(GridDispatchApi.Create(ApiFixture.HostArgs(connection, $"--GridDispatch:City:LoadOnStart={loadCity}", "--GridDispatch:Dispatch:RollupInterval=00:00:00.200"), RepoPaths.ApiProject));

    private static async Task<WebApplication> Start(WebApplication app)
    {
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task A_push_reaches_a_client_connected_to_another_host_of_the_cluster()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var first = await StartApiAsync(connection, loadCity: true);
        await using var second = await StartApiAsync(connection, loadCity: false);

        const string grid = "449901002001002";
        // A token from one host is good at the other: both are configured with the same issuer key.
        var token = await ApiFixture.TokenAsync(new Uri(first.Urls.First()), "commander-city");
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(new Uri(second.Urls.First()), "/hubs/live"),
            o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        var received = new ConcurrentQueue<string>();
        hub.On<JsonElement[]>("incidentChanged", items => { foreach (var i in items) received.Enqueue(i.GetProperty("id").GetString()!); });
        await hub.StartAsync();
        await hub.InvokeAsync<JsonElement>("Subscribe", $"grid:{grid}");

        // Both hosts have registered for live updates (a host that registered less than a refresh interval ago may miss
        // pushes of that moment; its clients get snapshots when they subscribe).
        var registry = first.Services.GetRequiredService<IGrainFactory>().GetGrain<ILiveHostRegistryGrain>(0);
        await Eventually.Get(registry.GetHostsAsync, hosts => hosts.Length == 2, TimeSpan.FromSeconds(20), "both hosts registered");
        await Task.Delay(500);

        using var http = new HttpClient { BaseAddress = new Uri(first.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var response = await http.PostAsJsonAsync("/api/incidents", new
        {
            category = "0101", severity = "routine", gridCode = grid, description = "cross-host push", source = "multi-host", externalId = Guid.NewGuid().ToString("N"),
        });
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        await Eventually.Get(() => Task.FromResult(received.ToArray()), ids => ids.Contains(id), TimeSpan.FromSeconds(20), "push on the other host");
    }
}
