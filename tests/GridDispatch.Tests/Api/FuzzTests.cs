using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Incidents;
using GridDispatch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace GridDispatch.Tests.Api;

/// <summary>
/// A seeded fuzz run against a real host of its own (some generated requests are accidentally valid — a mode switch, a
/// campaign — and must not disturb other tests): a few thousand generated bad requests over every command route, as
/// every kind of caller; then no 5xx, every incident touched still has a valid timeline, every grain touched still
/// answers, and the engine serves an ordinary request.
/// In the API collection only so that it does not run beside the other API tests on a 2-core machine.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ApiFixture api = new();

    public Task InitializeAsync() => api.InitializeAsync();

    public Task DisposeAsync() => api.DisposeAsync();

    private const int Requests = 3000;
    private const string Grid = "449902002001002";

    private static readonly string[] Actions = [.. GridDispatch.Api.Endpoints.IncidentEndpoints.Actions, "teleport", "", "%00", "../../admin"];

    [Fact]
    public async Task Thousands_of_generated_bad_requests_break_nothing()
    {
        var random = new Random(20261129);
        var incidents = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var created = await api.Http.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = Grid, description = $"fuzz target {i}" });
            incidents.Add((await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        }

        var callers = new[]
        {
            ApiFixture.Sign("commander-city", "commander", "4499"), ApiFixture.Sign("admin-x", "street-admin", "449902002"),
            ApiFixture.Sign("admin-y", "street-admin", "449901001"), ApiFixture.Sign("w449902002001002-1", "worker", Grid),
            ApiFixture.Sign("resident-f", "resident"), ApiFixture.Sign("officer", "department", "4499:city-management"),
            ApiFixture.Sign("commander-city", "commander", "4499", DateTime.UtcNow.AddMinutes(-10)), "garbage.token.value", "",
        };

        var requests = Enumerable.Range(0, Requests).Select(_ => Generate(random, incidents, callers)).ToList();
        var statuses = new ConcurrentDictionary<int, int>();
        var fives = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (r, ct) =>
        {
            using var message = new HttpRequestMessage(r.Method, r.Path);
            if (r.Body is not null)
            {
                message.Content = new ByteArrayContent(r.Body);
                message.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
            }

            if (r.Token.Length > 0)
            {
                message.Headers.TryAddWithoutValidation("Authorization", $"Bearer {r.Token}");
            }

            using var client = api.Anonymous();
            var response = await client.SendAsync(message, ct);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if ((int)response.StatusCode >= 500)
            {
                fives.Enqueue($"{r.Method} {r.Path} {(r.Body is null ? "" : Encoding.UTF8.GetString(r.Body)[..Math.Min(200, r.Body.Length)])} → {(int)response.StatusCode}");
            }
        });

        output.WriteLine($"{Requests} requests: " + string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}")));
        Assert.True(fives.IsEmpty, string.Join("\n", fives.Take(10)));
        Assert.Equal(Requests, statuses.Values.Sum());
        Assert.True(statuses.Where(kv => kv.Key is >= 400 and < 500).Sum(kv => kv.Value) > Requests / 2, "most generated requests should be refused");

        // Every incident touched still has a timeline that replays through the rules, and answers.
        foreach (var id in incidents)
        {
            var view = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
            Assert.Equal(Enumerable.Range(1, view.Timeline.Length), view.Timeline.Select(e => e.Seq));
            Assert.Equal(IncidentEventKind.Reported, view.Timeline[0].Kind);
            var state = IncidentState.Reported;
            foreach (var entry in view.Timeline.Skip(1))
            {
                Assert.Equal(state, entry.From);
                Assert.Equal(IncidentRules.Next(entry.Kind, entry.From), entry.To);
                state = entry.To;
            }

            Assert.Equal(state, view.State);
        }

        // The grains around still answer, and an ordinary request is served normally.
        Assert.NotNull(await api.Grains.GetGrain<IGridGrain>(Grid).GetAsync());
        Assert.NotNull(await api.Grains.GetRegion("449902").GetAsync());
        Assert.NotNull(await api.Grains.GetGrain<IWorkerGrain>("w449902002001002-1").GetAsync());
        var normal = await api.Http.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = Grid, description = "after the storm" });
        Assert.Equal(HttpStatusCode.Created, normal.StatusCode);
    }

    private sealed record Generated(HttpMethod Method, string Path, byte[]? Body, string ContentType, string Token);

    private static Generated Generate(Random random, List<string> incidents, string[] callers)
    {
        var token = callers[random.Next(callers.Length)];
        string Pick(params string[] options) => options[random.Next(options.Length)];
        var id = random.Next(4) == 0 ? Pick("x", "../etc/passwd", new string('a', 300), "%20", "<script>", "ünïcode") : incidents[random.Next(incidents.Count)];
        var (method, path, template) = random.Next(10) switch
        {
            0 or 1 => (HttpMethod.Post, "/api/incidents",
                $"{{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"{Grid}\",\"description\":\"fuzz\",\"reporter\":{{\"name\":\"n\",\"phone\":\"1\"}}}}"),
            2 or 3 or 4 => (HttpMethod.Post, $"/api/incidents/{Uri.EscapeDataString(id)}/{Uri.EscapeDataString(Actions[random.Next(Actions.Length)])}",
                "{\"reason\":\"fuzz\",\"stars\":3,\"workerId\":\"w449902002001002-1\",\"until\":\"2030-01-01T00:00:00Z\"}"),
            5 => (HttpMethod.Post, $"/api/regions/{Pick("449902002", "4499", "449902002001", "99", "abc")}/mode", "{\"mode\":\"emergency\",\"level\":\"IV\",\"reason\":\"fuzz\"}"),
            6 => (HttpMethod.Post, "/api/campaigns", $"{{\"scope\":\"{Pick("449902002", "4499", "x")}\",\"kind\":\"sweep-buildings\",\"title\":\"fuzz\",\"schedule\":{{\"timesOfDay\":[\"08:00\"]}}}}"),
            7 => (HttpMethod.Post, "/api/workers/surge", "{\"scope\":\"449902002\",\"attach\":\"by-need\",\"workers\":[{\"id\":\"fz\",\"name\":\"f\",\"kind\":\"volunteer\"}]}"),
            8 => (HttpMethod.Put, $"/api/workers/{Pick("w449902002001002-1", "nobody", "../x", new string('w', 100))}/status", "{\"status\":\"busy\"}"),
            _ => (HttpMethod.Post, $"/api/campaigns/tasks/{Uri.EscapeDataString(Pick("c:1:449902002001002:B001", "a:b", "::::", id))}/finish", "{\"outcome\":\"done\",\"findings\":[{\"category\":\"0101\",\"description\":\"f\"}]}"),
        };

        var (body, contentType) = Mutate(random, template);
        return new Generated(method, path, body, contentType, token);
    }

    private static (byte[]? Body, string ContentType) Mutate(Random random, string template)
    {
        var json = "application/json";
        switch (random.Next(12))
        {
            case 0: return (Encoding.UTF8.GetBytes(template[..random.Next(template.Length)]), json);                  // truncated
            case 1: return (Encoding.UTF8.GetBytes(template.Replace("\"fuzz\"", random.Next(3) switch { 0 => "42", 1 => "[1,2]", _ => "{\"a\":null}" }, StringComparison.Ordinal)), json);
            case 2: return (Encoding.UTF8.GetBytes(template.Replace("fuzz", "fu\u0001zz\u001b[2J", StringComparison.Ordinal)), json);
            case 3: return (Encoding.UTF8.GetBytes(template.Replace("fuzz", new string('x', random.Next(4_000, 20_000)), StringComparison.Ordinal)), json);
            case 4: return (Encoding.UTF8.GetBytes(template.Insert(1, "\"unknownField\":true,")), json);
            case 5: return (Encoding.UTF8.GetBytes(new string('[', 500) + new string(']', 500)), json);                  // deep nesting
            case 6: return ([0xFF, 0xFE, 0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D], json);                                   // invalid UTF-8
            case 7: return ([], json);
            case 8: return (Encoding.UTF8.GetBytes(template), "text/plain");
            case 9: return (Encoding.UTF8.GetBytes(new string(' ', 70_000) + template), json);                           // over the limit
            case 10: return (Encoding.UTF8.GetBytes("null"), json);
            default: return (Encoding.UTF8.GetBytes(template), json);                                                     // as is
        }
    }
}
