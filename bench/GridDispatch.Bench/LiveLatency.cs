using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using GridDispatch.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Bench;

/// <summary>
/// Push latency: the real API host on loopback (demo city, simulator off), a .NET SignalR client subscribed to the city,
/// N incidents reported over HTTP at a steady rate; latency = first incidentChanged for the incident − the moment its
/// POST was sent.
/// </summary>
public static class LiveLatency
{
    public static async Task RunAsync(string[] args)
    {
        var reports = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        var perSecond = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 50;

        var app = GridDispatchApi.Create(
        [
            "--urls=http://127.0.0.1:0", $"--GridDispatch:Silo:SiloPort={FreePort()}", $"--GridDispatch:Silo:GatewayPort={FreePort()}",
            "--GridDispatch:Simulation:Enabled=false", "--Logging:LogLevel:Default=Warning", "--GridDispatch:Auth:DevIssuer:Enabled=true",
            "--GridDispatch:RateLimits:IntakePerMinute=100000000", // one client sends all the load
            "--GridDispatch:RateLimits:CommandsPerUserPerMinute=100000000",
            "--GridDispatch:RateLimits:CommandsPerAddressPerMinute=100000000",
        ], FindApiProject());
        await app.StartAsync();
        var baseAddress = new Uri(app.Urls.First());
        using var http = new HttpClient { BaseAddress = baseAddress };
        var login = await http.PostAsJsonAsync("/dev/token", new { user = "commander-city" });
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var grids = (await http.GetFromJsonAsync<JsonElement>("/api/regions/4499"))!.GetProperty("definition").GetProperty("code").GetString();

        // The id is the one the API answers with (it derives it from the caller and the key): the first push of an
        // incident can arrive before that answer, so receipts are kept by id and matched with the send times at the end.
        var sent = new ConcurrentDictionary<string, long>();
        var received = new ConcurrentDictionary<string, long>();
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "/hubs/live"),
            o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        hub.On<JsonElement[]>("incidentChanged", items =>
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var item in items)
            {
                received.TryAdd(item.GetProperty("id").GetString()!, now);
            }
        });
        await hub.StartAsync();
        await hub.InvokeAsync<JsonElement>("Subscribe", "city");

        var gridCodes = Enumerable.Range(1, 2).SelectMany(d => Enumerable.Range(1, 2).SelectMany(s => Enumerable.Range(1, 2)
            .SelectMany(c => Enumerable.Range(1, 3).Select(g => $"4499{d:D2}{s:D3}{c:D3}{g:D3}")))).ToArray();
        var interval = TimeSpan.FromSeconds(1 / perSecond);
        var posts = new List<Task>();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < reports; i++)
        {
            var wait = interval * i - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var externalId = $"lat-{Guid.NewGuid():N}";
            var at = Stopwatch.GetTimestamp();
            posts.Add(Task.Run(async () =>
            {
                var response = await http.PostAsJsonAsync("/api/incidents", new
                {
                    category = "0101", severity = "routine", gridCode = gridCodes[i % gridCodes.Length], description = "latency", source = "latency", externalId,
                });
                response.EnsureSuccessStatusCode();
                sent[(await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!] = at;
            }));
        }

        await Task.WhenAll(posts);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (sent.Keys.Count(received.ContainsKey) < reports && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var sorted = sent.Where(s => received.ContainsKey(s.Key))
            .Select(s => Stopwatch.GetElapsedTime(s.Value, received[s.Key]).TotalMilliseconds).Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new InvalidOperationException($"No push arrived for any of {reports} reports");
        }

        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine($"{reports} reports at {perSecond}/s over HTTP; {sorted.Length} pushes received ({grids} city topic)");
        Console.WriteLine($"push latency ms: median {At(0.5):F0}, p90 {At(0.9):F0}, p99 {At(0.99):F0}, max {sorted[^1]:F0}");
        await hub.StopAsync();
        await app.StopAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindApiProject()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GridDispatch.sln")))
            {
                return Path.Combine(dir.FullName, "src", "Api");
            }
        }

        throw new InvalidOperationException("GridDispatch.sln not found");
    }
}
