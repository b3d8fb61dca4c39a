using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>
/// The holes found by reading the access code, one test each: every one of these was a 403 (or a 200) that had changed
/// the record, or a door left open. Each checks the target after the refusal, not only the status.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class RefusalHoleTests(ApiFixture api)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<IncidentView> ViewAsync(string id) => await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();

    [Fact]
    public async Task Worker_steps_on_an_incident_queued_at_a_department_are_for_that_departments_officers_only()
    {
        // No worker in the city handles rubbish: the street summons the department, whose only officer is off duty,
        // so the incident waits in the department's queue.
        var city = TestCity.Create();
        city.Departments.Add(new City.DepartmentEntry("city-management", "City management bureau"));
        city.AddWorker("officer", [], department: "city-management", categories: ["01"], status: WorkerStatus.OffDuty);
        city.AddWorker("grid", [city.Grid], categories: ["05"]);
        await city.LoadAsync(api.Grains);
        var department = RegionCode.DepartmentKey(city.Code, "city-management");
        var queued = await api.Grains.ReportAsync(Reports.Make(city.Grid, category: "0101"));
        Assert.Equal(Assignee.Department(department), queued.Assignee);

        using var gridWorker = api.AsWorker($"{city.Code}-grid", city.Grid);
        using var otherDepartment = api.As("officer-police", "department", $"{city.Code}:police");
        using var sameNameOtherCity = api.As("officer-elsewhere", "department", "4499:city-management");
        foreach (var (client, who) in new[] { (gridWorker, "a worker of the grid"), (otherDepartment, "another department"), (sameNameOtherCity, "the department of another city") })
        {
            var response = await client.PostAsync($"/api/incidents/{queued.Id}/start", Json("{}"));
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{who}: {response.StatusCode}");
            var after = await ViewAsync(queued.Id);
            Assert.Equal((queued.Version, queued.State), (after.Version, after.State));
        }

        // In the engine too: a step naming no department, or another one, is refused by the incident itself.
        var inside = await Assert.ThrowsAsync<DomainException>(() =>
            api.Grains.GetGrain<IIncidentGrain>(queued.Id).StartAsync(new ActorCommand($"{city.Code}-grid")));
        Assert.Equal("not-allowed", inside.Code);

        using var officer = api.As("officer-on-call", "department", department);
        var started = await officer.PostAsync($"/api/incidents/{queued.Id}/start", Json("{}"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        Assert.Equal(IncidentState.InProgress, (await ViewAsync(queued.Id)).State);

        // The officer of the department it is with sees the reporter.
        var seen = (await (await officer.GetAsync($"/api/incidents/{queued.Id}")).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("13800000000", seen["reporter"]!["phone"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_incident_nobody_reported_by_id_is_rated_only_by_a_supervisor_on_the_residents_behalf()
    {
        // A hotline case entered without a reporter id, verified: anyone could "rate" it before, in their own name.
        const string grid = "449902002001001";
        var view = await api.Grains.ReportAsync(Reports.Make(grid, reporter: null) with { Source = "hotline" });
        var incident = api.Grains.GetGrain<IIncidentGrain>(view.Id);
        var worker = view.Assignee!.Id;
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "cleared"));
        var verified = await incident.VerifyAsync(new ActorCommand("leader"));

        using var otherWorker = api.AsWorker("w449901001001001-1", "449901001001001");
        using var resident = api.As("resident-nosy", "resident");
        using var otherStreet = api.As("admin-other-street", "street-admin", "449901001");
        using var sameGridWorker = api.AsWorker(worker, grid);
        foreach (var client in new[] { otherWorker, resident, otherStreet, sameGridWorker })
        {
            var response = await client.PostAsync($"/api/incidents/{view.Id}/rate", Json("{\"stars\":1}"));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var after = await ViewAsync(view.Id);
            Assert.Equal((verified.Version, IncidentState.Verified, (int?)null), (after.Version, after.State, after.Rating));
        }

        // The engine refuses a rating in someone's own name too.
        await Assert.ThrowsAsync<DomainException>(() => incident.RateAsync(new RateCommand("resident-nosy", 1)));

        using var street = api.As("admin-street-2", "street-admin", "449902002");
        var rated = await street.PostAsync($"/api/incidents/{view.Id}/rate", Json("{\"stars\":4,\"reason\":\"by phone\"}"));
        Assert.Equal(HttpStatusCode.OK, rated.StatusCode);
        var closed = await ViewAsync(view.Id);
        var entry = closed.Timeline.Single(e => e.Kind == IncidentEventKind.Rated);
        Assert.Equal(("admin-street-2", 4), (entry.Actor, entry.Stars!.Value));
        Assert.Equal("recorded on behalf of the reporter: by phone", entry.Reason);
    }

    [Fact]
    public async Task A_rating_by_someone_other_than_the_reporter_is_refused_and_changes_nothing()
    {
        const string grid = "449902002001001";
        var view = await api.Grains.ReportAsync(Reports.Make(grid, reporter: "resident-owner"));
        var incident = api.Grains.GetGrain<IIncidentGrain>(view.Id);
        await incident.StartAsync(new ActorCommand(view.Assignee!.Id));
        await incident.ResolveAsync(new ActorCommand(view.Assignee!.Id, "cleared"));
        var verified = await incident.VerifyAsync(new ActorCommand("leader"));

        // Nobody else rates an incident whose reporter can: not another resident, not a supervisor of its grid "for" them.
        using var someoneElse = api.As("resident-other", "resident");
        using var leader = api.As("leader-owner", "grid-leader", grid);
        foreach (var client in new[] { someoneElse, leader })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/incidents/{view.Id}/rate", Json("{\"stars\":1}"))).StatusCode);
            Assert.Equal(verified.Version, (await ViewAsync(view.Id)).Version);
        }

        // Nor does a cluster caller that claims to speak for the reporter.
        await Assert.ThrowsAsync<DomainException>(() => incident.RateAsync(new RateCommand("leader-owner", 1, null, OnBehalfOfReporter: true)));
        Assert.Equal(verified.Version, (await ViewAsync(view.Id)).Version);

        using var owner = api.As("resident-owner", "resident");
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/api/incidents/{view.Id}/rate", Json("{\"stars\":5}"))).StatusCode);
        Assert.Equal(5, (await ViewAsync(view.Id)).Rating);
    }

    [Fact]
    public async Task Assignment_goes_only_to_a_worker_serving_the_unit_and_only_by_a_supervisor_of_that_unit()
    {
        // The grid's only worker of class 06 (no department owns it) declines; nobody else handles it, so it climbs to
        // the city and waits for a commander.
        var city = TestCity.Create();
        var only = city.AddWorker("only", [city.Grid], categories: ["06"]);
        var spare = city.AddWorker("spare", [city.Grid], categories: ["05"]);
        await city.LoadAsync(api.Grains);
        var view = await api.Grains.ReportAsync(Reports.Make(city.Grid, category: "0601"));
        var incident = api.Grains.GetGrain<IIncidentGrain>(view.Id);
        await incident.DeclineAsync(new ActorCommand(only, "busy"));
        var waiting = await ViewAsync(view.Id);
        Assert.Equal((IncidentState.Accepted, RegionLevel.City, (Assignee?)null), (waiting.State, waiting.Level, waiting.Assignee));

        const string foreign = "w449901001001001-1";     // a worker of another city
        var foreignBefore = await api.Grains.GetGrain<IWorkerGrain>(foreign).GetAsync();
        using var commander = api.As("commander-t", "commander", city.Code);
        var refused = await commander.PostAsync($"/api/incidents/{view.Id}/assign", Json($"{{\"workerId\":\"{foreign}\"}}"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("workerId", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        var after = await ViewAsync(view.Id);
        Assert.Equal((waiting.Version, (Assignee?)null), (after.Version, after.Assignee));
        var foreignAfter = await api.Grains.GetGrain<IWorkerGrain>(foreign).GetAsync();
        Assert.Equal((foreignBefore.Load, foreignBefore.Version), (foreignAfter.Load, foreignAfter.Version));

        // At city level it is not the grid leader's to assign, even to the grid's own worker.
        using var leader = api.As("leader-t", "grid-leader", city.Grid);
        var byLeader = await leader.PostAsync($"/api/incidents/{view.Id}/assign", Json($"{{\"workerId\":\"{spare}\"}}"));
        Assert.Equal(HttpStatusCode.Forbidden, byLeader.StatusCode);
        Assert.Equal(waiting.Version, (await ViewAsync(view.Id)).Version);

        var assigned = await commander.PostAsync($"/api/incidents/{view.Id}/assign", Json($"{{\"workerId\":\"{spare}\"}}"));
        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        Assert.Equal(Assignee.Worker(spare), (await ViewAsync(view.Id)).Assignee);
    }

    [Fact]
    public async Task A_client_cannot_claim_another_channels_incident_ids_nor_another_commanders_campaign_keys()
    {
        const string grid = "449902002001003";
        var body = $"{{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"{grid}\",\"description\":\"Rubbish\",\"source\":\"hotline\",\"externalId\":\"call-77\"}}";

        // A commander pre-claims the hotline's next call number...
        using var squatter = api.As("commander-squatter", "commander", "4499");
        var squatted = (await (await squatter.PostAsync("/api/incidents", Json(body))).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("hotline@commander-squatter", squatted["source"]!.GetValue<string>());

        // ...and the hotline's own token, bound to its source, still gets an incident of its own.
        var hotlineToken = ApiFixture.Sign("hotline-gateway", "commander", "4499", source: "hotline");
        using var hotline = api.WithToken(hotlineToken);
        var own = await hotline.PostAsync("/api/incidents", Json(body));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var ownBody = (await own.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.NotEqual(squatted["id"]!.GetValue<string>(), ownBody["id"]!.GetValue<string>());
        Assert.Equal(("hotline", "call-77"), (ownBody["source"]!.GetValue<string>(), ownBody["externalId"]!.GetValue<string>()));

        // The bound token may not report under another source.
        var other = await hotline.PostAsync("/api/incidents", Json(body.Replace("\"hotline\"", "\"open311:test-app\"", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);

        // Campaign idempotency keys are per commander too (in a city of this test's own, so no dashboard shows them).
        var city = await TestCity.Create().LoadAsync(api.Grains);
        var launch = $"{{\"scope\":\"{city.Street}\",\"kind\":\"sweep-buildings\",\"title\":\"same key\"}}";
        using var first = api.As("commander-a", "commander", city.Code);
        using var second = api.As("commander-b", "commander", city.Code);
        HttpRequestMessage Launch()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/campaigns") { Content = Json(launch) };
            request.Headers.Add("Idempotency-Key", "sweep-monday");
            return request;
        }

        var a = (await (await first.SendAsync(Launch())).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var b = (await (await second.SendAsync(Launch())).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var again = (await (await first.SendAsync(Launch())).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.NotEqual(a, b);
        Assert.Equal(a, again);
        foreach (var id in new[] { a, b })
        {
            await first.PostAsync($"/api/campaigns/{id}/end", Json("{\"reason\":\"test over\"}"));
            await second.PostAsync($"/api/campaigns/{id}/end", Json("{\"reason\":\"test over\"}"));
        }
    }
}
