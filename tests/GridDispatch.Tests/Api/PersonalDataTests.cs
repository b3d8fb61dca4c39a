using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>A reporter's personal data lives apart from the timeline, can be erased on request, and never reaches public output.</summary>
[Collection(ApiCollection.Name)]
public sealed class PersonalDataTests(ApiFixture api)
{
    private const string Grid = "449902001001002";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_resident_has_their_contact_erased_and_the_timeline_keeps_only_that_it_happened()
    {
        using var resident = api.As("resident-erase", "resident");
        var created = await resident.PostAsJsonAsync("/api/incidents", new
        {
            category = "0101", severity = "routine", gridCode = Grid, description = "Rubbish by the gate", source = "app",
            reporter = new { name = "Li Lei", phone = "13700000001", address = "Block 2, room 101" },
        });
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var before = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
        Assert.Equal("13700000001", before.Reporter!.Phone);

        // The timeline never held it: the report entry carries the reporter's id only.
        var reported = before.Timeline.Single(e => e.Kind == IncidentEventKind.Reported);
        Assert.Equal(new Reporter("resident-erase", null, null, null), reported.Report!.Reporter);

        // Someone else (a worker of the grid, another resident) may not erase it, and the record stays as it was.
        using var worker = api.AsWorker(before.Assignee!.Id, Grid);
        using var other = api.As("resident-someone", "resident");
        foreach (var client in new[] { worker, other })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/incidents/{id}/erase-personal-data", Json("{}"))).StatusCode);
            var unchanged = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
            Assert.Equal((before.Version, "13700000001"), (unchanged.Version, unchanged.Reporter!.Phone));
        }

        var erased = await resident.PostAsync($"/api/incidents/{id}/erase-personal-data", Json("{\"reason\":\"I moved away\"}"));
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var after = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
        Assert.Equal(new Reporter("resident-erase", null, null, null), after.Reporter);
        Assert.Equal((IncidentEventKind.PersonalDataErased, "resident-erase", "I moved away"), (after.Timeline[^1].Kind, after.Timeline[^1].Actor, after.Timeline[^1].Reason));
        Assert.Equal(before.Timeline, after.Timeline.Take(before.Timeline.Length));
        Assert.DoesNotContain("13700000001", (await (await resident.GetAsync($"/api/incidents/{id}")).Content.ReadAsStringAsync()), StringComparison.Ordinal);

        // Asking again changes nothing; the request is in the audit log with who asked.
        Assert.Equal(HttpStatusCode.OK, (await resident.PostAsync($"/api/incidents/{id}/erase-personal-data", Json("{}"))).StatusCode);
        Assert.Equal(after.Version, (await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).Version);
        var target = $"/api/incidents/{id}/erase-personal-data";
        var audit = await Eventually.Get(() => api.Http.GetFromJsonAsync<JsonArray>($"/api/audit?region={Grid}&actor=resident-erase")!,
            a => a!.Count(e => e!["target"]!.GetValue<string>() == target) >= 2, what: "erasure requests audited");
        Assert.Equal(2, audit!.Count(e => e!["target"]!.GetValue<string>() == target && e["status"]!.GetValue<int>() == 200));
        var refused = await api.Http.GetFromJsonAsync<JsonArray>($"/api/audit?region={Grid}&actor=resident-someone");
        Assert.Contains(refused!, e => e!["target"]!.GetValue<string>() == target && e["status"]!.GetValue<int>() == 403);
    }

    [Fact]
    public async Task Open311_output_carries_no_free_text_and_lists_no_case_about_people()
    {
        // A dispute (not public) and a rubbish report (public), both closed with a reason that names someone.
        var dispute = await api.Grains.ReportAsync(Reports.Make(Grid, category: "1101") with { Description = "Zhang San at room 301 shouts at night" });
        var rubbish = await api.Grains.ReportAsync(Reports.Make(Grid, category: "0101") with { Description = "Bags at the corner" });
        foreach (var view in new[] { dispute, rubbish })
        {
            await api.Grains.GetGrain<IIncidentGrain>(view.Id).CancelAsync(new ActorCommand("leader", "settled with Mr Zhang, phone 13600000000"));
        }

        using var anonymous = api.Anonymous();
        var list = await anonymous.GetStringAsync("/open311/v2/requests.json?status=closed");
        Assert.DoesNotContain(dispute.Id, list, StringComparison.Ordinal);
        Assert.Contains(rubbish.Id, list, StringComparison.Ordinal);
        Assert.DoesNotContain("13600000000", list, StringComparison.Ordinal);

        var one = await anonymous.GetAsync($"/open311/v2/requests/{dispute.Id}.json");
        Assert.Equal(HttpStatusCode.NotFound, one.StatusCode);
        Assert.DoesNotContain("Zhang", await one.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var publicOne = (await anonymous.GetFromJsonAsync<JsonArray>($"/open311/v2/requests/{rubbish.Id}.json"))![0]!;
        Assert.Equal("Bags at the corner", publicOne["description"]!.GetValue<string>());
        Assert.DoesNotContain("13600000000", publicOne.ToJsonString(), StringComparison.Ordinal);
    }
}
