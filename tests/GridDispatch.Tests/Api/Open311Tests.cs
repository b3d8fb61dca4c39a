using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class Open311Tests(ApiFixture api)
{
    private HttpClient Http => api.Http;

    private Task<HttpResponseMessage> PostAsync(params (string Key, string Value)[] fields) =>
        Http.PostAsync("/open311/v2/requests.json", new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value))));

    [Fact]
    public async Task Services_list_the_catalogue_and_describe_one_service()
    {
        var services = await Http.GetFromJsonAsync<JsonArray>("/open311/v2/services.json");
        Assert.Equal(34, services!.Count);
        var rubbish = services.Single(s => s!["service_code"]!.GetValue<string>() == "0101")!;
        Assert.Equal("Exposed rubbish", rubbish["service_name"]!.GetValue<string>());
        Assert.Equal("realtime", rubbish["type"]!.GetValue<string>());

        var definition = await Http.GetFromJsonAsync<JsonObject>("/open311/v2/services/0101.json");
        Assert.Equal("0101", definition!["service_code"]!.GetValue<string>());
        var missing = await Http.GetAsync("/open311/v2/services/9999.json");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(404, (await missing.Content.ReadFromJsonAsync<JsonArray>())![0]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_311_app_reports_by_position_follows_the_request_and_sees_it_closed_without_personal_data()
    {
        // The demo city's first grid centre is at 22.54, 114.05; a point 100 m away lands there.
        var posted = await PostAsync(("api_key", "demo"), ("service_code", "0101"), ("lat", "22.5405"), ("long", "114.0505"),
            ("description", "Bags of rubbish left at the corner"), ("first_name", "Han"), ("last_name", "Meimei"), ("phone", "13900000000"),
            ("account_id", "resident-311"));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var id = (await posted.Content.ReadFromJsonAsync<JsonArray>())![0]!["service_request_id"]!.GetValue<string>();

        var open = (await Http.GetFromJsonAsync<JsonArray>($"/open311/v2/requests/{id}.json"))![0]!;
        Assert.Equal(("open", "0101", "449901001001001"), (open["status"]!.GetValue<string>(), open["service_code"]!.GetValue<string>(), open["address_id"]!.GetValue<string>()));
        Assert.StartsWith("dispatched", open["status_notes"]!.GetValue<string>());
        Assert.DoesNotContain("13900000000", open.ToJsonString());
        Assert.DoesNotContain("Meimei", open.ToJsonString());

        var incident = await Http.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}");
        var worker = incident!["assignee"]!["id"]!.GetValue<string>();
        var grain = api.Grains.GetGrain<IIncidentGrain>(id);
        await grain.StartAsync(new ActorCommand(worker));
        await grain.ResolveAsync(new ActorCommand(worker, "cleared"));
        await grain.VerifyAsync(new ActorCommand("supervisor"));
        await grain.RateAsync(new RateCommand("leader", 4, "by phone", OnBehalfOfReporter: true));     // a 311 account is not a city user

        var closed = (await Http.GetFromJsonAsync<JsonArray>($"/open311/v2/requests/{id}.json"))![0]!;
        Assert.Equal("closed", closed["status"]!.GetValue<string>());

        var listed = await Http.GetFromJsonAsync<JsonArray>("/open311/v2/requests.json?service_code=0101&status=closed");
        Assert.Contains(listed!, r => r!["service_request_id"]!.GetValue<string>() == id);
        var byId = await Http.GetFromJsonAsync<JsonArray>($"/open311/v2/requests.json?service_request_id={id},nope");
        Assert.Single(byId!);
        var openOnly = await Http.GetFromJsonAsync<JsonArray>("/open311/v2/requests.json?status=open");
        Assert.DoesNotContain(openOnly!, r => r!["service_request_id"]!.GetValue<string>() == id);
    }

    [Theory]
    [InlineData("service_code=0101&description=x", "location")]
    [InlineData("service_code=0101&address_string=12+Main+St&description=x", "address_string")]
    [InlineData("service_code=0101&lat=abc&long=114&description=x", "lat")]
    [InlineData("service_code=0101&lat=10&long=10&description=x", "city")]
    [InlineData("service_code=9999&address_id=449901001001001&description=x", "category")]
    [InlineData("lat=22.54&long=114.05&description=x", "service_code")]
    [InlineData("service_code=0101&address_id=449901001001001", "description")]
    public async Task Bad_311_requests_get_a_400_with_an_open311_error(string form, string mentioned)
    {
        var response = await Http.PostAsync("/open311/v2/requests.json",
            new StringContent("api_key=demo&" + form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonArray>())![0]!;
        Assert.Equal(400, error["code"]!.GetValue<int>());
        Assert.Contains(mentioned, error["description"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Intake_needs_an_issued_api_key_while_services_and_status_are_public()
    {
        using var anonymous = api.Anonymous();
        var form = "service_code=0101&address_id=449901001001001&description=Rubbish";
        var missing = await anonymous.PostAsync("/open311/v2/requests.json", new StringContent(form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("api_key", (await missing.Content.ReadFromJsonAsync<JsonArray>())![0]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var revoked = await anonymous.PostAsync("/open311/v2/requests.json",
            new StringContent("api_key=revoked-or-made-up&" + form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.Forbidden, revoked.StatusCode);

        var accepted = await anonymous.PostAsync("/open311/v2/requests.json", new StringContent("api_key=demo&" + form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonArray>())![0]!["service_request_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/open311/v2/services.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"/open311/v2/requests/{id}.json")).StatusCode);
    }

    [Fact]
    public async Task Listing_filters_are_checked()
    {
        var badStatus = await Http.GetAsync("/open311/v2/requests.json?status=pending");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        var badDate = await Http.GetAsync("/open311/v2/requests.json?start_date=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, badDate.StatusCode);
    }
}
