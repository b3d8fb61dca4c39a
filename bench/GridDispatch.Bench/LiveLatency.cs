using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using GridDispatch.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Bench;

/// <summary>
/// Push latency at a city's screens: the real API host on loopback (demo city, simulator off), N SignalR clients over
/// WebSockets, each subscribed to one grid or one region topic (community, street or district), incidents reported over
/// HTTP at each given rate in turn. A push's latency is its receipt minus the <c>changedAt</c> it carries, corrected by
/// the client's clock offset (measured against the hub's <c>ServerTime</c>, best of five round trips). Expected: every
/// client gets the latest version of every incident under its topic; lost = expected pairs whose latest version never
/// arrived (older versions may be coalesced away, by design).
/// A warm-up at the lowest rate comes first and is not reported: in a cold process the JIT took a fifth of the CPU
/// during the measured 200/s run (perf), which a host that has been serving for a minute no longer pays. (Not at the
/// highest rate: its incidents stay open and make every later run heavier — 3,000 more in the queues.)
/// usage: live [clients=1000] [rates=20,200] [seconds=20] [warmup seconds=15]
/// </summary>
public static class LiveLatency
{
    private static readonly string[] Grids = [.. Enumerable.Range(1, 2).SelectMany(d => Enumerable.Range(1, 2).SelectMany(s => Enumerable.Range(1, 2)
        .SelectMany(c => Enumerable.Range(1, 3).Select(g => $"4499{d:D2}{s:D3}{c:D3}{g:D3}"))))];

    /// <summary>Communities, streets and districts of the demo city.</summary>
    private static readonly string[] Regions = [.. Grids.Select(g => g[..12]).Distinct(), .. Grids.Select(g => g[..9]).Distinct(), .. Grids.Select(g => g[..6]).Distinct()];

    public static async Task RunAsync(string[] args)
    {
        var clients = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        var rates = (args.Length > 1 ? args[1] : "20,200").Split(',').Select(r => double.Parse(r, CultureInfo.InvariantCulture)).ToArray();
        var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var warmup = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 15;

        var app = GridDispatchApi.Create(
        [
            "--urls=http://127.0.0.1:0", $"--GridDispatch:Silo:SiloPort={GridDispatch.Tests.Infrastructure.SiloProcess.FreePort()}", $"--GridDispatch:Silo:GatewayPort={GridDispatch.Tests.Infrastructure.SiloProcess.FreePort()}",
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

        var watch = Stopwatch.StartNew();
        var screens = new Screen[clients];
        foreach (var batch in Enumerable.Range(0, clients).Chunk(50))
        {
            await Task.WhenAll(batch.Select(async i => screens[i] = await Screen.OpenAsync(baseAddress, token, TopicOf(i))));
        }

        var offsets = screens.Select(s => s.OffsetMs).Order().ToArray();
        Console.WriteLine($"{Environment.ProcessorCount} cores; {clients} WebSocket clients connected and subscribed in {watch.Elapsed.TotalSeconds:F1} s "
            + $"(clock offset median {offsets[offsets.Length / 2]:F2} ms, round trip median {screens.Select(s => s.RoundTripMs).Order().ElementAt(clients / 2):F1} ms)");

        var figures = new Dictionary<string, object?> { ["clients"] = clients, ["seconds_per_rate"] = seconds, ["warmup_s"] = warmup };
        if (warmup > 0)
        {
            var warm = await RunRateAsync(http, screens, rates.Min(), warmup);
            Console.WriteLine($"warm-up at {rates.Min()}/s for {warmup} s (not reported): p50 {warm["p50_ms"]} ms, p99 {warm["p99_ms"]} ms");
        }

        var runs = new List<Dictionary<string, object?>>();
        foreach (var rate in rates)
        {
            foreach (var screen in screens)
            {
                screen.Reset();
            }

            var run = await RunRateAsync(http, screens, rate, seconds);
            runs.Add(run);
            Console.WriteLine($"{rate}/s: {run["reports"]} reports, p50 {run["p50_ms"]} ms, p99 {run["p99_ms"]} ms, max {run["max_ms"]} ms, "
                + $"{run["delivered"]} of {run["expected"]} latest states delivered, {run["lost"]} lost, {run["pushes"]} pushes received");
            foreach (var (key, value) in run.Where(kv => kv.Key != "rate"))
            {
                figures[$"{key}@{rate}"] = value;
            }
        }

        figures["runs"] = runs;
        await Task.WhenAll(screens.Select(s => s.DisposeAsync().AsTask()));
        await app.StopAsync();
        await BenchReport.WriteAsync("live", figures);
    }

    private static async Task<Dictionary<string, object?>> RunRateAsync(HttpClient http, Screen[] screens, double rate, double seconds)
    {
        var reports = (int)Math.Round(rate * seconds);
        var interval = TimeSpan.FromSeconds(1 / rate);
        var posts = new List<Task<(string Id, string Grid)>>(reports);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < reports; i++)
        {
            var wait = interval * i - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var grid = Grids[i % Grids.Length];
            posts.Add(Task.Run(async () =>
            {
                using var response = await http.PostAsJsonAsync("/api/incidents", new
                {
                    category = "0101", severity = "routine", gridCode = grid, description = "latency", source = "latency", externalId = $"lat-{Guid.NewGuid():N}",
                });
                response.EnsureSuccessStatusCode();
                return ((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, grid);
            }));
        }

        var reported = await Task.WhenAll(posts);
        var sendSeconds = watch.Elapsed.TotalSeconds;

        // The latest version of each incident, as the engine has it once the run is over.
        await Task.Delay(1000);
        var latest = new ConcurrentDictionary<string, long>();
        await Parallel.ForEachAsync(reported, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (r, ct) =>
            latest[r.Id] = (await http.GetFromJsonAsync<JsonElement>($"/api/incidents/{r.Id}", ct)).GetProperty("version").GetInt64());

        // Every screen has had a second more than the last push interval to receive the latest states.
        long Expected(Screen s) => reported.Count(r => s.Covers(r.Grid));
        long Delivered(Screen s) => reported.Count(r => s.Covers(r.Grid) && s.Seen(r.Id) >= latest[r.Id]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (screens.Sum(Delivered) < screens.Sum(Expected) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        var latencies = screens.SelectMany(s => s.Latencies).Order().ToArray();
        double At(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        var expected = screens.Sum(Expected);
        var delivered = screens.Sum(Delivered);
        return new Dictionary<string, object?>
        {
            ["rate"] = rate,
            ["reports"] = reports,
            ["achieved_rate"] = Math.Round(reports / sendSeconds, 1),
            ["pushes"] = latencies.Length,
            ["p50_ms"] = Math.Round(At(0.5), 1),
            ["p90_ms"] = Math.Round(At(0.9), 1),
            ["p99_ms"] = Math.Round(At(0.99), 1),
            ["max_ms"] = latencies.Length == 0 ? double.NaN : Math.Round(latencies[^1], 1),
            ["expected"] = expected,
            ["delivered"] = delivered,
            ["lost"] = expected - delivered,
        };
    }

    /// <summary>Half the clients watch a grid, the other half a community, street or district in turn.</summary>
    private static string TopicOf(int i)
    {
        if (i % 2 == 0)
        {
            return $"grid:{Grids[i / 2 % Grids.Length]}";
        }

        return $"region:{Regions[i / 2 % Regions.Length]}";
    }

    /// <summary>One browser tab: a connection, one topic, the newest version seen per incident and each push's latency.</summary>
    private sealed class Screen : IAsyncDisposable
    {
        private readonly HubConnection _hub;
        private readonly string _prefix;
        private ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);
        private ConcurrentBag<double> _latencies = [];

        private Screen(HubConnection hub, string topic)
        {
            _hub = hub;
            _prefix = topic[(topic.IndexOf(':') + 1)..];
        }

        public double OffsetMs { get; private set; }

        public double RoundTripMs { get; private set; }

        public IEnumerable<double> Latencies => _latencies;

        public bool Covers(string grid) => grid.StartsWith(_prefix, StringComparison.Ordinal);

        public long Seen(string id) => _seen.TryGetValue(id, out var v) ? v : 0;

        public void Reset()
        {
            _seen = new(StringComparer.Ordinal);
            _latencies = [];
        }

        public static async Task<Screen> OpenAsync(Uri baseAddress, string token, string topic)
        {
            var hub = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "/hubs/live"), HttpTransportType.WebSockets, o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                o.SkipNegotiation = true;
            }).Build();
            var screen = new Screen(hub, topic);
            hub.On<JsonElement[]>("incidentChanged", screen.OnPush);
            await hub.StartAsync();
            await screen.MeasureOffsetAsync();
            await hub.InvokeAsync<JsonElement>("Subscribe", topic);
            return screen;
        }

        /// <summary>Server clock minus this clock, from the round trip with the smallest delay (NTP's estimate).</summary>
        private async Task MeasureOffsetAsync()
        {
            var best = double.MaxValue;
            for (var i = 0; i < 5; i++)
            {
                var sent = DateTimeOffset.UtcNow;
                var server = await _hub.InvokeAsync<DateTimeOffset>("ServerTime");
                var back = DateTimeOffset.UtcNow;
                var roundTrip = (back - sent).TotalMilliseconds;
                if (roundTrip < best)
                {
                    (best, OffsetMs) = (roundTrip, (server - (sent + (back - sent) / 2)).TotalMilliseconds);
                }
            }

            RoundTripMs = best;
        }

        private void OnPush(JsonElement[] items)
        {
            var now = DateTimeOffset.UtcNow.AddMilliseconds(OffsetMs);
            foreach (var item in items)
            {
                var version = item.GetProperty("version").GetInt64();
                _seen.AddOrUpdate(item.GetProperty("id").GetString()!, version, (_, known) => Math.Max(known, version));
                _latencies.Add((now - item.GetProperty("changedAt").GetDateTimeOffset()).TotalMilliseconds);
            }
        }

        public ValueTask DisposeAsync() => _hub.DisposeAsync();
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
