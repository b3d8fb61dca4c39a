using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class EmergencyHttpTests(ApiFixture api)
{
    private const string Street = "449902001";
    private HttpClient Http => api.Http;

    private async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> SendAsync(string path, string json, string? key = null,
        HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        var response = await (client ?? Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [], response);
    }

    private static string Field(JsonObject problem) => problem["field"]?.GetValue<string>() ?? "";

    [Fact]
    public async Task A_commander_runs_an_emergency_with_surge_workers_and_a_sweep_then_stands_down_over_http()
    {
        // Someone who is not a commander of the street is refused and nothing changes.
        var refused = await SendAsync($"/api/regions/{Street}/mode", """{"mode":"emergency","level":"II","reason":"typhoon","actor":"resident-1"}""");
        Assert.Equal((HttpStatusCode.Forbidden, "actor"), (refused.Status, Field(refused.Body)));
        var elsewhere = await SendAsync($"/api/regions/{Street}/mode", """{"mode":"emergency","level":"II","reason":"typhoon","actor":"commander-449901"}""");
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.Status);
        var untouched = await Http.GetFromJsonAsync<JsonObject>($"/api/regions/{Street}");
        Assert.Empty(untouched!["modeHistory"]!.AsArray());

        // Surge before the emergency: refused.
        var early = await SendAsync("/api/workers/surge",
            $$"""{"scope":"{{Street}}","actor":"commander-city","attach":"by-need","workers":[{"id":"vol-early","name":"V","kind":"volunteer"}]}""");
        Assert.Equal(HttpStatusCode.Conflict, early.Status);

        var on = await SendAsync($"/api/regions/{Street}/mode", """{"mode":"emergency","level":"II","reason":"typhoon","actor":"commander-city"}""");
        Assert.Equal(HttpStatusCode.OK, on.Status);
        Assert.True(on.Body["active"]!.GetValue<bool>());

        // Surge: bad entries are refused naming the field; a good batch is attached by need.
        var badKind = await SendAsync("/api/workers/surge",
            $$"""{"scope":"{{Street}}","actor":"commander-city","workers":[{"id":"v1","name":"V","kind":"fullTime"}]}""");
        Assert.Equal((HttpStatusCode.BadRequest, "workers[0].kind"), (badKind.Status, Field(badKind.Body)));
        var badAttach = await SendAsync("/api/workers/surge", $$"""{"scope":"{{Street}}","actor":"commander-city","attach":"anywhere","workers":[]}""");
        Assert.Equal((HttpStatusCode.BadRequest, "attach"), (badAttach.Status, Field(badAttach.Body)));
        var surge = await SendAsync("/api/workers/surge", $$"""
            {"scope":"{{Street}}","actor":"commander-city","attach":"by-need","workers":[
              {"id":"vol-http-1","name":"Volunteer 1","kind":"volunteer","capacity":4},
              {"id":"cadre-http-1","name":"Cadre 1","kind":"cadre","categories":["01"]}]}
            """);
        Assert.True(surge.Status == HttpStatusCode.OK, surge.Body.ToJsonString());
        Assert.Equal(2, surge.Body["placements"]!.AsArray().Count);
        Assert.All(surge.Body["placements"]!.AsArray(), p => Assert.StartsWith(Street, p!["gridCode"]!.GetValue<string>(), StringComparison.Ordinal));

        // Campaign: bad bodies name the field; a launch is 201 with a stable id under its Idempotency-Key.
        var badKindCampaign = await SendAsync("/api/campaigns", $$"""{"scope":"{{Street}}","kind":"sweep","title":"t","actor":"commander-city"}""");
        Assert.Equal((HttpStatusCode.BadRequest, "kind"), (badKindCampaign.Status, Field(badKindCampaign.Body)));
        var badTime = await SendAsync("/api/campaigns",
            $$$"""{"scope":"{{{Street}}}","kind":"sweep-buildings","title":"t","actor":"commander-city","schedule":{"timesOfDay":["8am"]}}""");
        Assert.Equal((HttpStatusCode.BadRequest, "schedule.timesOfDay[0]"), (badTime.Status, Field(badTime.Body)));
        var notEntitled = await SendAsync("/api/campaigns", $$"""{"scope":"{{Street}}","kind":"sweep-buildings","title":"t","actor":"commander-449901"}""");
        Assert.Equal(HttpStatusCode.Forbidden, notEntitled.Status);

        var key = Guid.NewGuid().ToString("N");
        var body = $$"""{"scope":"{{Street}}","kind":"sweep-buildings","title":"Typhoon sweep","actor":"commander-city"}""";
        var launched = await SendAsync("/api/campaigns", body, key);
        Assert.Equal(HttpStatusCode.Created, launched.Status);
        var id = launched.Body["id"]!.GetValue<string>();
        Assert.Equal($"/api/campaigns/{id}", launched.Response.Headers.Location!.OriginalString);
        Assert.True(launched.Body["emergency"]!.GetValue<bool>());
        var again = await SendAsync("/api/campaigns", body, key);
        Assert.Equal(id, again.Body["id"]!.GetValue<string>());
        var other = await SendAsync("/api/campaigns", body.Replace("Typhoon sweep", "Other", StringComparison.Ordinal), key);
        Assert.Equal(HttpStatusCode.Conflict, other.Status);

        var buildings = await BuildingsUnderAsync(Street);
        var progress = await Eventually.Get(() => Http.GetFromJsonAsync<JsonObject>($"/api/campaigns/{id}")!,
            c => c!["progress"]!["total"]!.GetValue<int>() == buildings && c["progress"]!["pending"]!.GetValue<int>() == 0,
            what: $"all {buildings} buildings dispatched");
        Assert.Equal(buildings, progress!["accountabilityTotal"]!.GetValue<int>());
        Assert.Equal("street", progress["byRegion"]![0]!["level"]!.GetValue<string>());

        // The assignee starts and finishes a task; someone else is refused.
        var task = progress["accountability"]![0]!;
        var taskId = task["taskId"]!.GetValue<string>();
        var worker = task["workerId"]!.GetValue<string>();
        var wrong = await SendAsync($"/api/campaigns/tasks/{taskId}/finish", """{"outcome":"done"}""");     // the commander is not the assignee
        Assert.Equal(HttpStatusCode.Forbidden, wrong.Status);
        using var workerClient = api.AsWorker(worker, task["gridCode"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync($"/api/campaigns/tasks/{taskId}/start", "{}", client: workerClient)).Status);
        var shot = (await (await PhotoApiTests.UploadAsync(workerClient, PhotoApiTests.Picture())).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var finished = await SendAsync($"/api/campaigns/tasks/{taskId}/finish",
            $$$"""{"actor":"{{{worker}}}","outcome":"not-reachable","note":"nobody home","photos":["{{{shot}}}"],"findings":[{"category":"0101","severity":"routine","description":"rubbish in the stairwell"}]}""", client: workerClient);
        Assert.True(finished.Status == HttpStatusCode.OK, finished.Body.ToJsonString());
        Assert.Equal("not-reachable", finished.Body["task"]!["status"]!.GetValue<string>());
        // The task's photo is shown to whoever may read the task: the commander yes, a resident no.
        Assert.Equal(shot, finished.Body["task"]!["photos"]![0]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/api/photos/{shot}/thumbnail")).StatusCode);
        using (var resident = api.As("resident-task-photo", "resident"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/api/photos/{shot}")).StatusCode);
        }
        var finding = Assert.Single(finished.Body["incidents"]!.AsArray())!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/api/incidents/{finding}")).StatusCode);
        var badFinding = await SendAsync($"/api/campaigns/tasks/{taskId}/finish", $$$"""{"actor":"{{{worker}}}","findings":[{"category":"1","description":"x"}]}""", client: workerClient);
        Assert.Equal((HttpStatusCode.BadRequest, "findings[0].category"), (badFinding.Status, Field(badFinding.Body)));

        // The load view shows the surge workers and the most loaded workers.
        var load = await Eventually.Get(() => Http.GetFromJsonAsync<JsonObject>($"/api/regions/{Street}/load")!,
            l => l!["surgeWorkers"]!.GetValue<int>() == 2 && l["mostLoaded"]!.AsArray().Count > 0, what: "load view with surge workers");
        Assert.True(load!["load"]!.GetValue<int>() > 0);
        Assert.NotEmpty(load["children"]!.AsArray());

        var listed = await Http.GetFromJsonAsync<JsonArray>($"/api/campaigns?scope={Street}");
        Assert.Contains(listed!, c => c!["id"]!.GetValue<string>() == id);

        // Stand down: the campaign ends, the surge workers are released, the report is there.
        var off = await SendAsync($"/api/regions/{Street}/mode", """{"mode":"everyday","reason":"typhoon passed","actor":"commander-city"}""");
        Assert.Equal(HttpStatusCode.OK, off.Status);
        var report = off.Body["reports"]!.AsArray().Last()!;
        Assert.Equal((buildings, 2), (report["tasks"]!.GetValue<int>(), report["surgeReleased"]!.GetValue<int>()));
        var ended = await Http.GetFromJsonAsync<JsonObject>($"/api/campaigns/{id}");
        Assert.Equal("ended", ended!["status"]!.GetValue<string>());
        var volunteer = await Http.GetFromJsonAsync<JsonObject>("/api/workers/vol-http-1");
        Assert.Equal("offDuty", volunteer!["status"]!.GetValue<string>());
    }

    private async Task<int> BuildingsUnderAsync(string street)
    {
        var total = 0;
        var region = await Http.GetFromJsonAsync<JsonObject>($"/api/regions/{street}");
        foreach (var community in region!["definition"]!["children"]!.AsArray())
        {
            var c = await Http.GetFromJsonAsync<JsonObject>($"/api/regions/{community}");
            foreach (var grid in c!["definition"]!["children"]!.AsArray())
            {
                var g = await Http.GetFromJsonAsync<JsonObject>($"/api/grids/{grid}");
                total += Math.Max(1, g!["definition"]!["buildings"]!.GetValue<int>());
            }
        }

        return total;
    }
}
