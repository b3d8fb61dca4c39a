using System.Net;
using System.Text;
using GridDispatch.Incidents;
using GridDispatch.Tests.Api.Matrix;
using GridDispatch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace GridDispatch.Tests.Api;

/// <summary>
/// A seeded fuzz run against a host of its own: 10,000 requests over every route, with tokens of every role (inside and
/// outside the region of the targets) and none, bodies mutated from valid ones. No response may be a 5xx, and no refused
/// request may change its target: requests go one at a time and each target is read before and after. Some generated
/// requests are accidentally valid (a commander's mode switch, a campaign) and change things; that is allowed.
/// Roll-up ticks and an incident's retried tells are an hour apart here, so nothing but the requests moves the targets
/// (no rebalancing between reads, and no tell deadline passing 15 s after an accepted reassignment and recording the
/// incident's next due time as a new entry), and after an accepted command the run waits 150 ms for whatever it set
/// going one-way to settle.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ApiFixture api = new("--GridDispatch:Dispatch:RollupInterval=01:00:00",
        "--GridDispatch:Dispatch:TellRetryDelay=01:00:00");

    public Task InitializeAsync() => api.InitializeAsync();

    public Task DisposeAsync() => api.DisposeAsync();

    private const int Requests = 10_000;
    private const string Grid = "449902002001002";
    private const string Street = "449902002";
    private const string Worker = "w449902002001002-1";

    private static readonly string[] Actions = [.. GridDispatch.Api.Endpoints.IncidentEndpoints.Actions, "teleport", "", "%00", "../../admin"];

    private sealed record Generated(HttpMethod Method, string Path, byte[]? Body, string ContentType, string Token, Func<Task<string>>? Target);

    [Fact]
    public async Task Ten_thousand_generated_requests_as_every_role_cause_no_5xx_and_no_refusal_changes_anything()
    {
        var random = new Random(20261202);
        var grains = api.Grains;
        var incidents = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            var view = await grains.ReportAsync(Reports.Make(i % 4 == 0 ? "449901001001001" : Grid, reporter: $"resident-f{i % 3}"));
            incidents.Add(view.Id);
        }

        var campaign = await grains.GetGrain<ICampaignGrain>("cmp-fuzz").LaunchAsync(
            new CampaignSpec(Grid, CampaignKind.SweepBuildings, "fuzz", null, "commander-city", "4499"));
        var tasks = (await Eventually.Get(() => grains.GetGrain<IWorkerGrain>(Worker).GetAsync(), w => w.Tasks.Any(t => t.Campaign is not null),
            what: "campaign tasks")).Tasks.Where(t => t.Campaign is not null).Select(t => t.IncidentId).ToList();

        var callers = Callers();
        var statuses = new SortedDictionary<int, int>();
        var problems = new List<string>();
        var settled = 0;
        for (var n = 0; n < Requests; n++)
        {
            var r = Generate(random, incidents, tasks, callers, campaign.Id);
            var before = r.Target is null ? null : await r.Target();
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
            var response = await client.SendAsync(message);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var shown = $"{r.Method} {r.Path} {(r.Body is null ? "" : Encoding.UTF8.GetString(r.Body)[..Math.Min(160, r.Body.Length)])} → {status}";
            if (status >= 500)
            {
                problems.Add(shown);
            }
            else if (status < 300 && r.Method != HttpMethod.Get)
            {
                // An accepted command may go on after its answer (a worker who went off duty sheds its tasks one-way,
                // the incidents re-route and tell their workers): let that settle before the next request's reads.
                await Task.Delay(150);
                settled++;
            }
            else if (status >= 400 && r.Target is not null && await r.Target() is var after && after != before)
            {
                problems.Add($"{shown} changed its target:\n  before {before}\n  after  {after}");
            }
        }

        output.WriteLine($"{Requests} requests: " + string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}")) + $"; {settled} accepted commands");
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n" + string.Join("\n", problems.Take(10)));
        Assert.True(statuses.Where(kv => kv.Key is >= 400 and < 500).Sum(kv => kv.Value) > Requests / 2, "most generated requests should be refused");
        Assert.True(statuses.Where(kv => kv.Key is >= 200 and < 300).Sum(kv => kv.Value) > Requests / 50, "some requests should be accepted");

        // Every incident touched still has a timeline that replays through the rules, and answers.
        foreach (var id in incidents)
        {
            var view = await grains.GetGrain<IIncidentGrain>(id).GetAsync();
            Assert.Equal(Enumerable.Range(1, view.Timeline.Length), view.Timeline.Select(e => e.Seq));
            var state = IncidentState.Reported;
            foreach (var entry in view.Timeline.Skip(1))
            {
                Assert.Equal(state, entry.From);
                Assert.Equal(IncidentRules.Next(entry.Kind, entry.From), entry.To);
                state = entry.To;
            }

            Assert.Equal(state, view.State);
        }

        Assert.NotNull(await grains.GetGrain<IGridGrain>(Grid).GetAsync());
        var normal = await api.Http.PostAsync("/api/incidents", new StringContent(
            $"{{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"{Grid}\",\"description\":\"after the storm\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, normal.StatusCode);
    }

    /// <summary>Every role inside the targets' region and outside it, the people the targets name, and bad tokens.</summary>
    private static string[] Callers()
    {
        var tokens = new List<string>
        {
            ApiFixture.Sign(Worker, "worker", Grid), ApiFixture.Sign("w449902002001002-2", "worker", Grid),
            ApiFixture.Sign("resident-f0", "resident"), ApiFixture.Sign("resident-f1", "resident"), ApiFixture.Sign("resident-x", "resident"),
            ApiFixture.Sign("leader-f", "grid-leader", Grid), ApiFixture.Sign("leader-o", "grid-leader", "449901001001001"),
            ApiFixture.Sign("admin-c", "community-admin", "449902002001"), ApiFixture.Sign("admin-co", "community-admin", "449901001001"),
            ApiFixture.Sign("admin-s", "street-admin", Street), ApiFixture.Sign("admin-so", "street-admin", "449901001"),
            ApiFixture.Sign("admin-d", "district-admin", "449902"), ApiFixture.Sign("admin-do", "district-admin", "449901"),
            ApiFixture.Sign("officer", "department", "4499:city-management"), ApiFixture.Sign("officer-p", "department", "4499:police"),
            ApiFixture.Sign("commander-city", "commander", "4499"), ApiFixture.Sign("commander-o", "commander", "449901"),
            ApiFixture.Sign("hotline", "commander", "4499", source: "hotline"),
            ApiFixture.Sign("commander-city", "commander", "4499", DateTime.UtcNow.AddMinutes(-10)), ApiFixture.Sign("nobody", "janitor", "4499"),
            "garbage.token.value", "",
        };
        return [.. tokens];
    }

    private Generated Generate(Random random, List<string> incidents, List<string> tasks, string[] callers, string campaign)
    {
        var grains = api.Grains;
        var token = callers[random.Next(callers.Length)];
        string Pick(params string[] options) => options[random.Next(options.Length)];
        var incident = incidents[random.Next(incidents.Count)];
        var id = random.Next(6) == 0 ? Pick("x", "../etc/passwd", new string('a', 300), "%20", "<script>", "ünïcode") : incident;
        var task = random.Next(5) == 0 ? Pick("c:1:449902002001002:B001", "a:b", "::::") : tasks[random.Next(tasks.Count)];
        var worker = Pick(Worker, Worker, "w449902002001002-2", "nobody", "../x", new string('w', 100));
        var scope = Pick(Street, "4499", "449902002001", Grid, "99", "abc");
        Func<Task<string>> OfIncident() => () => id == incident ? TargetState.IncidentAsync(grains, incident) : Task.FromResult("none");
        Func<Task<string>> OfWorker() => () => worker is Worker or "w449902002001002-2" ? TargetState.WorkerAsync(grains, worker) : Task.FromResult("none");
        Func<Task<string>> OfTask() => () => tasks.Contains(task) ? TargetState.TaskAsync(grains, task) : Task.FromResult("none");
        Func<Task<string>> OfMode() => async () => $"{await TargetState.EmergencyAsync(grains, Street)} {await TargetState.EmergencyAsync(grains, "4499")} {await TargetState.GridAsync(grains, Grid)}";

        var (method, path, template, target) = random.Next(20) switch
        {
            0 or 1 => (HttpMethod.Post, "/api/incidents",
                $"{{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"{Pick(Grid, "449901001001001", "1")}\",\"description\":\"fuzz\",\"source\":\"app\",\"reporter\":{{\"name\":\"n\",\"phone\":\"1\"}}}}",
                (Func<Task<string>>?)(() => TargetState.GridAsync(grains, Grid))),
            2 or 3 or 4 or 5 => (HttpMethod.Post, $"/api/incidents/{Uri.EscapeDataString(id)}/{Uri.EscapeDataString(Actions[random.Next(Actions.Length)])}",
                $"{{\"reason\":\"fuzz\",\"stars\":3,\"workerId\":\"{Pick("w449902002001002-2", "w449901001001001-1")}\",\"until\":\"2030-01-01T00:00:00Z\"}}", OfIncident()),
            6 => (HttpMethod.Get, Pick($"/api/incidents/{Uri.EscapeDataString(id)}", $"/api/incidents?grid={Grid}&page={Pick("1", "0", "x")}", $"/api/incidents?region={scope}"), null, OfIncident()),
            7 => (HttpMethod.Post, $"/api/regions/{scope}/mode", $"{{\"mode\":\"{Pick("emergency", "everyday", "panic")}\",\"level\":\"IV\",\"reason\":\"fuzz\"}}", OfMode()),
            8 => (HttpMethod.Get, Pick($"/api/regions/{scope}", $"/api/grids/{scope}", $"/api/regions/{scope}/load", $"/api/regions/{scope}/emergency", $"/api/kpis/{scope}", "/api/categories"), null, OfMode()),
            9 => (HttpMethod.Post, "/api/campaigns", $"{{\"scope\":\"{scope}\",\"kind\":\"sweep-buildings\",\"title\":\"fuzz\",\"schedule\":{{\"timesOfDay\":[\"08:00\"]}}}}",
                () => TargetState.CampaignsAsync(grains, "4499")),
            10 => (HttpMethod.Post, $"/api/campaigns/{Pick(campaign, "cmp-none", "x%00")}/end", "{\"reason\":\"fuzz\"}", () => TargetState.CampaignAsync(grains, campaign)),
            11 => (HttpMethod.Get, Pick($"/api/campaigns?scope={scope}", $"/api/campaigns/{campaign}?limit={Pick("5", "x", "-1")}", $"/api/campaigns/tasks/{Uri.EscapeDataString(task)}"), null, OfTask()),
            12 => (HttpMethod.Post, $"/api/campaigns/tasks/{Uri.EscapeDataString(task)}/{Pick("start", "finish")}",
                "{\"outcome\":\"done\",\"note\":\"fuzz\",\"findings\":[{\"category\":\"0101\",\"description\":\"fuzz\"}]}", OfTask()),
            13 => (HttpMethod.Post, "/api/workers/surge", $"{{\"scope\":\"{scope}\",\"attach\":\"by-need\",\"workers\":[{{\"id\":\"fz\",\"name\":\"fuzz\",\"kind\":\"volunteer\"}}]}}",
                async () => $"{await TargetState.ExistsAsync(grains, "fz")} {await TargetState.EmergencyAsync(grains, Street)}"),
            14 => (HttpMethod.Put, $"/api/workers/{worker}/{Pick("status", "location")}", "{\"status\":\"busy\",\"latitude\":22.5,\"longitude\":114.1,\"fuzz\":1}", OfWorker()),
            15 => (HttpMethod.Get, Pick($"/api/workers/{worker}", "/api/departments/4499:city-management", $"/api/departments/{scope}", $"/api/audit?region={scope}&limit={Pick("10", "0", "zz")}"), null, OfWorker()),
            16 => (HttpMethod.Post, "/open311/v2/requests.json",
                $"api_key={Pick("demo", "wrong", "")}&service_code={Pick("0101", "1101", "9999")}&address_id={Pick(Grid, "x")}&description=fu{Pick("zz", "%00", "%zz", "%C3%28")}&account_id=fuzz",
                () => TargetState.GridAsync(grains, Grid)),
            17 => (HttpMethod.Get, Pick("/open311/v2/services.json", "/open311/v2/services/0101.json", $"/open311/v2/requests/{Uri.EscapeDataString(id)}.json",
                $"/open311/v2/requests.json?status={Pick("open", "closed", "both")}&start_date={Pick("2026-01-01", "yesterday")}"), null, OfIncident()),
            18 => (HttpMethod.Post, "/dev/token", $"{{\"user\":\"{Pick("commander-city", Worker, "nobody")}\"}}", null),
            _ => (HttpMethod.Post, $"/api/incidents/{Uri.EscapeDataString(id)}/erase-personal-data", "{\"reason\":\"fuzz\"}", OfIncident()),
        };

        if (template is null)
        {
            return new Generated(method, path, null, "", token, target);
        }

        var form = path.StartsWith("/open311", StringComparison.Ordinal);
        var (body, contentType) = form && random.Next(3) > 0
            ? (Encoding.UTF8.GetBytes(template), "application/x-www-form-urlencoded")
            : Mutate(random, template);
        return new Generated(method, path, body, contentType, token, target);
    }

    private static (byte[]? Body, string ContentType) Mutate(Random random, string template)
    {
        var json = "application/json";
        switch (random.Next(12))
        {
            case 0: return (Encoding.UTF8.GetBytes(template[..random.Next(template.Length)]), json);                  // truncated
            case 1: return (Encoding.UTF8.GetBytes(template.Replace("\"fuzz\"", random.Next(3) switch { 0 => "42", 1 => "[1,2]", _ => "{\"a\":null}" }, StringComparison.Ordinal)), json);
            case 2: return (Encoding.UTF8.GetBytes(template.Replace("fuzz", "fu\u0001zz\u001b[2J\u0000", StringComparison.Ordinal)), json);
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
