using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>
/// What a hostile or broken client may send: each gets a clear 4xx naming the field where there is one, nothing stored
/// changes, and the next ordinary request is served normally. (Malformed, truncated and wrong-typed JSON, unknown codes,
/// illegal steps and idempotency conflicts have their cases in HttpApiTests; tokens in AuthenticationTests and AccessTests.)
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileInputTests(ApiFixture api)
{
    private const string Grid = "449902001002001";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, string? Field)> PostAsync(string path, string json, HttpClient? client = null)
    {
        var response = await (client ?? api.Http).PostAsync(path, Json(json));
        var text = await response.Content.ReadAsStringAsync();
        var field = text.StartsWith('{') ? (JsonNode.Parse(text) as JsonObject)?["field"]?.GetValue<string>() : null;
        return (response.StatusCode, field);
    }

    private async Task<int> OpenIncidentsAsync() =>
        (await api.Http.GetFromJsonAsync<JsonObject>($"/api/grids/{Grid}"))!["openIncidents"]!.AsArray().Count;

    [Fact]
    public async Task Oversized_bodies_control_characters_and_huge_fields_are_refused_and_store_nothing()
    {
        var before = await OpenIncidentsAsync();
        string Report(string description, string? name = null) =>
            $$"""{"category":"0101","severity":"routine","gridCode":"{{Grid}}","description":{{System.Text.Json.JsonSerializer.Serialize(description)}}{{(name is null ? "" : $",\"reporter\":{{\"name\":{System.Text.Json.JsonSerializer.Serialize(name)}}}")}}}""";

        var huge = await api.Http.PostAsync("/api/incidents", Json(Report(new string('x', 70_000))));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal((HttpStatusCode.BadRequest, "description"), await PostAsync("/api/incidents", Report(new string('x', 10_000))));
        Assert.Equal((HttpStatusCode.BadRequest, "reporter.name"), await PostAsync("/api/incidents", Report("ok", new string('y', 10_000))));
        Assert.Equal((HttpStatusCode.BadRequest, "description"), await PostAsync("/api/incidents", Report("bell\u0007 and escape\u001b[2J")));
        Assert.Equal((HttpStatusCode.BadRequest, "reporter.name"), await PostAsync("/api/incidents", Report("fine", "Li\u0000Lei")));
        Assert.Equal((HttpStatusCode.BadRequest, "description"), await PostAsync("/api/incidents", Report("line\u2028separator")));
        Assert.Equal((HttpStatusCode.BadRequest, "body"), await PostAsync("/api/incidents", "{\"category\":\"0101\",\"severity\":\"rout"));

        // A chunked body with no length is cut off at the limit too.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/incidents")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Report(new string('z', 100_000))))),
        };
        chunked.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.Http.SendAsync(chunked)).StatusCode);

        // Line breaks and tabs are ordinary text.
        var ok = await api.Http.PostAsync("/api/incidents", Json(Report("Rubbish by gate 2\nand by gate 3\tplease")));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        Assert.Equal(before + 1, await OpenIncidentsAsync());
    }

    [Fact]
    public async Task Two_workers_starting_the_same_task_at_once_one_wins_and_the_loser_leaves_no_trace_but_the_audit_log()
    {
        // A grid of two workers that no other test reports into: the hand-back goes to the other one.
        const string grid = "449901002002003";
        var created = await api.Http.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = grid, description = "race" });
        var incident = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = incident["id"]!.GetValue<string>();
        var first = incident["assignee"]?["id"]?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"not dispatched: {incident}");
        using var firstClient = api.AsWorker(first, grid);

        // The first worker hands it back; the grid gives it to another. Both then try to start and resolve it at once.
        var handed = await firstClient.PostAsync($"/api/incidents/{id}/hand-back", Json("{\"reason\":\"needs a ladder\"}"));
        var handedBody = await handed.Content.ReadAsStringAsync();
        var second = (JsonNode.Parse(handedBody) as JsonObject)?["assignee"]?["id"]?.GetValue<string>();
        Assert.False(second is null || second == first, $"expected another worker than {first}: {handed.StatusCode} {handedBody}");
        using var secondClient = api.AsWorker(second!, grid);

        var tries = await Task.WhenAll(
            firstClient.PostAsync($"/api/incidents/{id}/start", Json("{}")),
            secondClient.PostAsync($"/api/incidents/{id}/start", Json("{}")));
        Assert.True(tries[0].StatusCode == HttpStatusCode.Forbidden && tries[1].StatusCode == HttpStatusCode.OK,
            $"{tries[0].StatusCode} {await tries[0].Content.ReadAsStringAsync()} | {tries[1].StatusCode} {await tries[1].Content.ReadAsStringAsync()}");

        var view = (await api.Http.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}"))!;
        Assert.Equal(("inProgress", second), (view["state"]!.GetValue<string>(), view["assignee"]!["id"]!.GetValue<string>()));
        var timeline = view["timeline"]!.AsArray();
        // The former holder's refused try changed nothing: after the hand-back nothing in the timeline is theirs.
        var handBack = timeline.Select((e, i) => (e, i)).Single(x => x.e!["kind"]!.GetValue<string>() == "handedBack").i;
        Assert.DoesNotContain(timeline.Skip(handBack + 1), e => e!["actor"]!.GetValue<string>() == first);
        var audit = await Eventually.Get(() => api.Http.GetFromJsonAsync<JsonArray>($"/api/audit?region={grid}&actor={first}")!,
            a => a!.Any(e => e!["status"]!.GetValue<int>() == 403), what: "the refused try in the audit log");
        Assert.Contains(audit!, e => e!["status"]!.GetValue<int>() == 403 && e["target"]!.GetValue<string>() == $"/api/incidents/{id}/start");
        Assert.Equal(second, Assert.Single(timeline, e => e!["kind"]!.GetValue<string>() == "workStarted")!["actor"]!.GetValue<string>());
    }
}
