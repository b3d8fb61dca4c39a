using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class AuditTests(ApiFixture api)
{
    private const string Grid = "449901001002003";

    [Fact]
    public async Task Every_command_is_audited_with_who_what_where_when_from_where_and_the_result()
    {
        var resident = $"resident-audit-{Guid.NewGuid():N}"[..24];
        using var residentClient = api.As(resident, "resident");
        var reported = await residentClient.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = Grid, description = "audit me" });
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var id = (await reported.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var worker = api.AsWorker("w-audit", Grid);
        var refused = await worker.PostAsJsonAsync($"/api/incidents/{id}/verify", new { });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        await residentClient.GetAsync($"/api/incidents/{id}");                 // reads are not commands

        using var streetAdmin = api.As("admin-audit", "street-admin", "449901001");
        var entries = await Eventually.Get(async () => (await streetAdmin.GetFromJsonAsync<JsonArray>("/api/audit?region=449901001&limit=1000"))!,
            list => list.Count(e => e!["actor"]!.GetValue<string>() is var a && (a == resident || a == "w-audit")) == 2, what: "both commands audited");
        var report = entries.Single(e => e!["actor"]!.GetValue<string>() == resident)!;
        Assert.Equal(("resident", Grid, "POST /api/incidents", 201), (report["role"]!.GetValue<string>(), report["region"]!.GetValue<string>(),
            report["action"]!.GetValue<string>(), report["status"]!.GetValue<int>()));
        Assert.Equal("127.0.0.1", report["address"]!.GetValue<string>());
        Assert.True(report["at"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddMinutes(-1));
        var denied = entries.Single(e => e!["actor"]!.GetValue<string>() == "w-audit")!;
        Assert.Equal(("worker", Grid, 403, $"/api/incidents/{id}/verify"), (denied["role"]!.GetValue<string>(), denied["scope"]!.GetValue<string>(),
            denied["status"]!.GetValue<int>(), denied["target"]!.GetValue<string>()));
        Assert.DoesNotContain(entries, e => e!["action"]!.GetValue<string>().StartsWith("GET", StringComparison.Ordinal));

        // Per person; and only administrators, inside their region.
        var mine = await streetAdmin.GetFromJsonAsync<JsonArray>($"/api/audit?region=449901001&actor={resident}");
        Assert.All(mine!, e => Assert.Equal(resident, e!["actor"]!.GetValue<string>()));
        Assert.Single(mine!);
        Assert.Equal(HttpStatusCode.Forbidden, (await streetAdmin.GetAsync("/api/audit?region=449902")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await worker.GetAsync($"/api/audit?region={Grid}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await residentClient.GetAsync("/api/audit")).StatusCode);
    }
}
