using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class HttpApiTests(ApiFixture api)
{
    private const string Grid = "449901001001001";
    private HttpClient Http => api.Http;

    private static object Report(string? externalId = null, string category = "0101", string grid = Grid) => new
    {
        category, severity = "routine", gridCode = grid, description = "Rubbish by the school gate", source = "app",
        externalId = externalId ?? Guid.NewGuid().ToString("N"), reporter = new { id = "resident-9", name = "Li Lei", phone = "13800000000" },
        location = new { latitude = 22.54, longitude = 114.05 },
    };

    private async Task<JsonObject> ReportAsync(object? body = null)
    {
        var response = await Http.PostAsJsonAsync("/api/incidents", body ?? Report());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, string? json,
        string contentType = "application/json", HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, contentType);
        }

        var response = await (client ?? Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? []);
    }

    [Fact]
    public async Task A_report_is_created_with_its_location_and_can_be_read_back()
    {
        var response = await Http.PostAsJsonAsync("/api/incidents", Report());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("dispatched", created["state"]!.GetValue<string>());
        Assert.Equal($"/api/incidents/{created["id"]}", response.Headers.Location!.OriginalString);

        var read = await Http.GetFromJsonAsync<JsonObject>(response.Headers.Location);
        Assert.Equal(created["id"]!.GetValue<string>(), read!["id"]!.GetValue<string>());
        Assert.Equal(3, read["timeline"]!.AsArray().Count);
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_same_incident_and_a_different_body_under_it_is_a_conflict()
    {
        var key = Guid.NewGuid().ToString("N");
        var body = new { category = "0103", severity = "urgent", gridCode = Grid, description = "Mud over the road", source = "app" };

        async Task<HttpResponseMessage> Post(object b)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/incidents") { Content = JsonContent.Create(b) };
            request.Headers.Add("Idempotency-Key", key);
            return await Http.SendAsync(request);
        }

        var first = await Post(body);
        var second = await Post(body);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var a = await first.Content.ReadFromJsonAsync<JsonObject>();
        var b = await second.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(a!["id"]!.GetValue<string>(), b!["id"]!.GetValue<string>());

        var conflict = await Post(body with { description = "Something else entirely" });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var problem = await conflict.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("Idempotency-Key", problem!["field"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"category\":\"0101\",", "body")]                                         // truncated
    [InlineData("not json at all", "body")]                                                 // malformed
    [InlineData("[1,2,3]", "body")]                                                         // wrong shape
    [InlineData("{\"category\":\"0101\",\"severity\":5,\"gridCode\":\"449901001001001\",\"description\":\"x\"}", "severity")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"extreme\",\"gridCode\":\"449901001001001\",\"description\":\"x\"}", "severity")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":42}", "description")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":\"x\",\"colour\":\"blue\"}", "colour")]
    [InlineData("{\"category\":\"0101\",\"gridCode\":\"449901001001001\",\"description\":\"x\"}", "severity")]
    [InlineData("{\"category\":\"9999\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":\"x\"}", "category")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001999\",\"description\":\"x\"}", "gridCode")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"4499\",\"description\":\"x\"}", "gridCode")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":\"\"}", "description")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":\"x\",\"location\":{\"latitude\":91,\"longitude\":0}}", "location")]
    [InlineData("{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"449901001001001\",\"description\":\"x\",\"reporter\":{\"name\":7}}", "reporter.name")]
    public async Task Bad_reports_get_a_400_problem_naming_the_field(string json, string field)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/api/incidents", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, body["field"]?.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["detail"]?.GetValue<string>()));
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/api/incidents", "category=0101", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("body", body["field"]!.GetValue<string>());
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> PostAs(HttpClient client, string path, string json)
    {
        var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? []);
    }

    [Fact]
    public async Task The_loop_runs_over_http_each_step_by_its_own_role_and_an_illegal_step_is_a_409_that_changes_nothing()
    {
        var created = await ReportAsync();
        var id = created["id"]!.GetValue<string>();
        var worker = created["assignee"]!["id"]!.GetValue<string>();
        using var workerClient = api.AsWorker(worker, Grid);
        using var leader = await api.ClientAsync("leader-449901001001001");
        using var resident = api.As("resident-9", "resident");

        var illegal = await PostAs(leader, $"/api/incidents/{id}/verify", "{}");
        Assert.Equal(HttpStatusCode.Conflict, illegal.Status);
        Assert.Equal("illegal-transition", illegal.Body["title"]!.GetValue<string>());
        var notYours = await PostAs(leader, $"/api/incidents/{id}/start", "{}");                        // the leader is not the assignee
        Assert.Equal(HttpStatusCode.Forbidden, notYours.Status);
        var pretending = await PostAs(leader, $"/api/incidents/{id}/start", $"{{\"actor\":\"{worker}\"}}"); // nor may act as them
        Assert.Equal((HttpStatusCode.Forbidden, "actor"), (pretending.Status, pretending.Body["field"]!.GetValue<string>()));
        var workerVerifies = await PostAs(workerClient, $"/api/incidents/{id}/verify", "{}");             // a worker does not supervise
        Assert.Equal(HttpStatusCode.Forbidden, workerVerifies.Status);
        var noStars = await PostAs(resident, $"/api/incidents/{id}/rate", "{}");
        Assert.Equal((HttpStatusCode.BadRequest, "stars"), (noStars.Status, noStars.Body["field"]!.GetValue<string>()));
        var unknown = await PostAs(leader, $"/api/incidents/{id}/teleport", "{}");
        Assert.Equal((HttpStatusCode.BadRequest, "action"), (unknown.Status, unknown.Body["field"]!.GetValue<string>()));
        var unchanged = await Http.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}");
        Assert.Equal(created["version"]!.GetValue<long>(), unchanged!["version"]!.GetValue<long>());

        foreach (var (client, action, body) in new[]
                 {
                     (workerClient, "acknowledge", "{}"), (workerClient, "start", "{}"), (workerClient, "resolve", "{\"reason\":\"swept\"}"),
                     (leader, "verify", "{}"), (resident, "rate", "{\"stars\":5,\"reason\":\"fast\"}"),
                 })
        {
            var step = await PostAs(client, $"/api/incidents/{id}/{action}", body);
            Assert.True(step.Status == HttpStatusCode.OK, $"{action}: {step.Status} {step.Body}");
        }

        var closed = await Http.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}");
        Assert.Equal("closed", closed!["state"]!.GetValue<string>());
        Assert.Equal(["system:intake", worker, worker, worker, "leader-449901001001001", "resident-9"],
            closed["timeline"]!.AsArray().Where(e => e!["kind"]!.GetValue<string>() is "accepted" or "taskAcknowledged" or "workStarted" or "resolved" or "verified" or "rated")
                .Select(e => e!["actor"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_step_sent_again_under_its_idempotency_key_lands_once_and_without_a_key_is_a_409()
    {
        var created = await ReportAsync();
        var id = created["id"]!.GetValue<string>();
        using var worker = api.AsWorker(created["assignee"]!["id"]!.GetValue<string>(), Grid);

        async Task<HttpStatusCode> Step(string action, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/incidents/{id}/{action}") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            if (key is not null)
            {
                request.Headers.Add("Idempotency-Key", key);
            }

            return (await worker.SendAsync(request)).StatusCode;
        }

        // A phone's queue sends acknowledge twice (the first answer was lost) and then start twice: each lands once.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
            [await Step("acknowledge", "q-1"), await Step("acknowledge", "q-1"), await Step("start", "q-2"), await Step("start", "q-2")]);
        // The old acknowledge again after the start changes nothing either; a keyless repeat is refused as the step it is.
        Assert.Equal(HttpStatusCode.OK, await Step("acknowledge", "q-1"));
        Assert.Equal(HttpStatusCode.Conflict, await Step("start", null));
        var read = (await Http.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}"))!;
        Assert.Equal("inProgress", read["state"]!.GetValue<string>());
        var kinds = read["timeline"]!.AsArray().Select(e => e!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal((1, 1), (kinds.Count(k => k == "taskAcknowledged"), kinds.Count(k => k == "workStarted")));
    }

    [Fact]
    public async Task A_rating_sent_again_under_its_key_lands_once()
    {
        var created = await ReportAsync();
        var id = created["id"]!.GetValue<string>();
        var worker = created["assignee"]!["id"]!.GetValue<string>();
        var incident = api.Grains.GetGrain<IIncidentGrain>(id);
        await incident.AcknowledgeAsync(new ActorCommand(worker));
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "swept"));
        await incident.VerifyAsync(new ActorCommand("leader-449901001001001"));
        using var resident = api.As("resident-9", "resident");

        async Task<HttpStatusCode> Rate(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/incidents/{id}/rate") { Content = new StringContent("{\"stars\":4}", Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            return (await resident.SendAsync(request)).StatusCode;
        }

        // The resident's phone sends its rating again (the first answer was lost): answered, and rated once; a new key is a second rating, refused.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Conflict], [await Rate("r-1"), await Rate("r-1"), await Rate("r-2")]);
        Assert.Single((await incident.GetAsync()).Timeline, e => e.Kind == IncidentEventKind.Rated);
    }

    [Fact]
    public async Task A_commander_switches_a_street_to_emergency_and_back_over_http()
    {
        const string street = "449901002";
        var bad = await SendAsync(HttpMethod.Post, "/api/regions/449901002001/mode", "{\"mode\":\"emergency\",\"level\":\"I\",\"reason\":\"x\"}");
        Assert.Equal((HttpStatusCode.BadRequest, "code"), (bad.Status, bad.Body["field"]!.GetValue<string>()));
        var wrong = await SendAsync(HttpMethod.Post, $"/api/regions/{street}/mode", "{\"mode\":\"war\",\"reason\":\"x\"}");
        Assert.Equal((HttpStatusCode.BadRequest, "mode"), (wrong.Status, wrong.Body["field"]!.GetValue<string>()));

        var on = await SendAsync(HttpMethod.Post, $"/api/regions/{street}/mode", "{\"mode\":\"emergency\",\"level\":\"III\",\"reason\":\"rainstorm\",\"actor\":\"commander-city\"}");
        Assert.Equal(HttpStatusCode.OK, on.Status);
        var own = on.Body["region"]!["ownMode"]!;
        Assert.Equal(("emergency", "III"), (own["mode"]!.GetValue<string>(), own["level"]!.GetValue<string>()));
        Assert.True(on.Body["active"]!.GetValue<bool>());
        await Eventually.Get(() => Http.GetFromJsonAsync<JsonObject>($"/api/grids/{street}001001")!,
            g => g!["summary"]!["mode"]!["mode"]!.GetValue<string>() == "emergency", what: "grid below in emergency");

        var off = await SendAsync(HttpMethod.Post, $"/api/regions/{street}/mode", "{\"mode\":\"everyday\",\"reason\":\"rain stopped\",\"actor\":\"commander-city\"}");
        Assert.Equal(HttpStatusCode.OK, off.Status);
        await Eventually.Get(() => Http.GetFromJsonAsync<JsonObject>($"/api/grids/{street}001001")!,
            g => g!["summary"]!["mode"]!["mode"]!.GetValue<string>() == "everyday", what: "grid below back to everyday");
    }

    [Theory]
    [InlineData("/api/incidents/no-such-incident", HttpStatusCode.NotFound)]
    [InlineData("/api/incidents/bad%20id", HttpStatusCode.BadRequest)]
    [InlineData("/api/regions/449999", HttpStatusCode.NotFound)]
    [InlineData("/api/regions/44", HttpStatusCode.BadRequest)]
    [InlineData("/api/grids/449901001001999", HttpStatusCode.NotFound)]
    [InlineData("/api/grids/4499", HttpStatusCode.BadRequest)]
    [InlineData("/api/workers/nobody", HttpStatusCode.NotFound)]
    [InlineData("/api/kpis/12", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?grid=1", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?region=4499&state=flying", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?region=4499&page=0", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?region=4499&pageSize=5000", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?region=4499&page=abc", HttpStatusCode.BadRequest)]
    [InlineData("/api/nothing-here", HttpStatusCode.NotFound)]
    public async Task Unknown_ids_are_404_and_malformed_ones_400_with_a_problem_body(string path, HttpStatusCode expected)
    {
        var response = await Http.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Regions_grids_workers_kpis_and_categories_are_served()
    {
        var incident = await ReportAsync();
        var worker = incident["assignee"]!["id"]!.GetValue<string>();

        var city = await Eventually.Get(() => Http.GetFromJsonAsync<JsonObject>($"/api/regions/{ApiFixture.City}")!,
            c => c!["summary"]!["openIncidents"]!.GetValue<int>() > 0, what: "city sees the incident");
        Assert.Equal(2, city!["children"]!.AsArray().Count);
        Assert.Equal(("everyday", ""), (city["summary"]!["mode"]!["mode"]!.GetValue<string>(), city["summary"]!["mode"]!["scope"]!.GetValue<string>()));
        Assert.Contains(city["summary"]!["colour"]!.GetValue<string>(), new[] { "yellow", "red" });

        var grid = await Http.GetFromJsonAsync<JsonObject>($"/api/grids/{Grid}");
        Assert.True(grid!["recommendedWorkers"]!.GetValue<int>() >= 1);

        var busy = await SendAsync(HttpMethod.Put, $"/api/workers/{worker}/status", "{\"status\":\"onPatrol\"}");
        Assert.Equal(("onPatrol", HttpStatusCode.OK), (busy.Body["status"]!.GetValue<string>(), busy.Status));
        var badStatus = await SendAsync(HttpMethod.Put, $"/api/workers/{worker}/status", "{\"status\":\"asleep\"}");
        Assert.Equal((HttpStatusCode.BadRequest, "status"), (badStatus.Status, badStatus.Body["field"]!.GetValue<string>()));
        // A worker's position comes from their own phone only.
        using var own = api.AsWorker(worker, Grid);
        var byCommander = await SendAsync(HttpMethod.Put, $"/api/workers/{worker}/location", "{\"latitude\":22.55,\"longitude\":114.06}");
        Assert.Equal(HttpStatusCode.Forbidden, byCommander.Status);
        var moved = await SendAsync(HttpMethod.Put, $"/api/workers/{worker}/location", "{\"latitude\":22.55,\"longitude\":114.06}", client: own);
        Assert.Equal(22.55, moved.Body["location"]!["latitude"]!.GetValue<double>());
        var badPlace = await SendAsync(HttpMethod.Put, $"/api/workers/{worker}/location", "{\"latitude\":220,\"longitude\":114.06}", client: own);
        Assert.Equal((HttpStatusCode.BadRequest, "location"), (badPlace.Status, badPlace.Body["field"]!.GetValue<string>()));

        var kpis = await Http.GetFromJsonAsync<JsonObject>($"/api/kpis/{ApiFixture.City}");
        Assert.NotNull(kpis!["all"]!["due"]);
        var categories = await Http.GetFromJsonAsync<JsonArray>("/api/categories");
        Assert.Equal(12, categories!.Count);

        var list = await Http.GetFromJsonAsync<JsonObject>($"/api/incidents?region=449901&state=dispatched&pageSize=200");
        Assert.Contains(list!["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == incident["id"]!.GetValue<string>());
    }
}
