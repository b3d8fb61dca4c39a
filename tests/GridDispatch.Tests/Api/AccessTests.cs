using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace GridDispatch.Tests.Api;

/// <summary>Roles × routes: each role sees and does only what its region allows; personal data only to who needs it.</summary>
[Collection(ApiCollection.Name)]
public sealed class AccessTests(ApiFixture api)
{
    private const string Grid = "449901001001001";
    private const string OtherGrid = "449902001001001";

    private async Task<HttpStatusCode> CallAsync(string role, string? scope, string method, string path, string? body)
    {
        using var client = api.As($"test-{role}", role, scope);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return (await client.SendAsync(request)).StatusCode;
    }

    [Theory]
    // Region, grid and KPI views: inside the caller's region only; KPIs are public figures.
    [InlineData("commander", "4499", "GET", "/api/regions/449902", null, HttpStatusCode.OK)]
    [InlineData("district-admin", "449901", "GET", "/api/regions/449901001", null, HttpStatusCode.OK)]
    [InlineData("district-admin", "449901", "GET", "/api/regions/449902", null, HttpStatusCode.Forbidden)]
    [InlineData("district-admin", "449901", "GET", "/api/regions/4499", null, HttpStatusCode.Forbidden)]
    [InlineData("street-admin", "449901001", "GET", "/api/grids/" + Grid, null, HttpStatusCode.OK)]
    [InlineData("street-admin", "449901001", "GET", "/api/grids/" + OtherGrid, null, HttpStatusCode.Forbidden)]
    [InlineData("community-admin", "449901001001", "GET", "/api/regions/449901001001/load", null, HttpStatusCode.OK)]
    [InlineData("community-admin", "449901001001", "GET", "/api/regions/449901001/load", null, HttpStatusCode.Forbidden)]
    [InlineData("grid-leader", Grid, "GET", "/api/grids/" + Grid, null, HttpStatusCode.OK)]
    [InlineData("grid-leader", Grid, "GET", "/api/regions/449901001001", null, HttpStatusCode.Forbidden)]
    [InlineData("worker", Grid, "GET", "/api/grids/" + Grid, null, HttpStatusCode.OK)]
    [InlineData("worker", Grid, "GET", "/api/grids/449901001001002", null, HttpStatusCode.Forbidden)]
    [InlineData("resident", null, "GET", "/api/regions/4499", null, HttpStatusCode.Forbidden)]
    [InlineData("resident", null, "GET", "/api/kpis/4499", null, HttpStatusCode.OK)]
    [InlineData("department", "4499:city-management", "GET", "/api/regions/4499", null, HttpStatusCode.Forbidden)]
    // Listings: the caller's region only.
    [InlineData("street-admin", "449901001", "GET", "/api/incidents?region=449901001", null, HttpStatusCode.OK)]
    [InlineData("street-admin", "449901001", "GET", "/api/incidents?region=449901002", null, HttpStatusCode.Forbidden)]
    [InlineData("resident", null, "GET", "/api/incidents?grid=" + Grid, null, HttpStatusCode.Forbidden)]
    // Reporting: residents anywhere, staff inside their region, departments not at all.
    [InlineData("worker", Grid, "POST", "/api/incidents", "{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"" + OtherGrid + "\",\"description\":\"x\"}", HttpStatusCode.Forbidden)]
    [InlineData("department", "4499:city-management", "POST", "/api/incidents", "{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"" + Grid + "\",\"description\":\"x\"}", HttpStatusCode.Forbidden)]
    // Mode, campaigns, surge: a commander of that scope or above only.
    [InlineData("street-admin", "449901001", "POST", "/api/regions/449901001/mode", "{\"mode\":\"emergency\",\"level\":\"IV\",\"reason\":\"drill\"}", HttpStatusCode.Forbidden)]
    [InlineData("commander", "449901001", "POST", "/api/regions/449901/mode", "{\"mode\":\"emergency\",\"level\":\"IV\",\"reason\":\"drill\"}", HttpStatusCode.Forbidden)]
    [InlineData("commander", "449902", "POST", "/api/campaigns", "{\"scope\":\"449901001\",\"kind\":\"sweep-buildings\",\"title\":\"t\"}", HttpStatusCode.Forbidden)]
    [InlineData("district-admin", "449901", "POST", "/api/campaigns", "{\"scope\":\"449901001\",\"kind\":\"sweep-buildings\",\"title\":\"t\"}", HttpStatusCode.Forbidden)]
    [InlineData("worker", Grid, "POST", "/api/workers/surge", "{\"scope\":\"449901001\",\"workers\":[{\"id\":\"v\",\"name\":\"v\",\"kind\":\"volunteer\"}]}", HttpStatusCode.Forbidden)]
    [InlineData("district-admin", "449901", "GET", "/api/regions/449902/emergency", null, HttpStatusCode.Forbidden)]
    // A department's queue: its own officers and the city's commanders.
    [InlineData("department", "4499:city-management", "GET", "/api/departments/4499:city-management", null, HttpStatusCode.OK)]
    [InlineData("department", "4499:police", "GET", "/api/departments/4499:city-management", null, HttpStatusCode.Forbidden)]
    [InlineData("commander", "4499", "GET", "/api/departments/4499:city-management", null, HttpStatusCode.OK)]
    [InlineData("district-admin", "449901", "GET", "/api/departments/4499:city-management", null, HttpStatusCode.Forbidden)]
    // Workers: themselves, or a supervisor of their home.
    [InlineData("worker", Grid, "GET", "/api/workers/w449901001001002-1", null, HttpStatusCode.Forbidden)]
    [InlineData("worker", Grid, "GET", "/api/workers/w449901001001001-1", null, HttpStatusCode.Forbidden)]
    [InlineData("grid-leader", "449901001001002", "GET", "/api/workers/w449901001001002-1", null, HttpStatusCode.OK)]
    [InlineData("street-admin", "449902001", "PUT", "/api/workers/w449901001001002-1/status", "{\"status\":\"busy\"}", HttpStatusCode.Forbidden)]
    public async Task Each_role_reaches_only_its_region(string role, string? scope, string method, string path, string? body, HttpStatusCode expected)
    {
        Assert.Equal(expected, await CallAsync(role, scope, method, path, body));
    }

    [Fact]
    public async Task Personal_data_is_shown_only_to_those_who_need_it()
    {
        using var resident = api.As("resident-7", "resident");
        var reported = await resident.PostAsJsonAsync("/api/incidents", new
        {
            category = "0101", severity = "routine", gridCode = Grid, description = "Rubbish at my door", source = "app",
            reporter = new { name = "Wang Fang", phone = "13900000007", address = "Building 4, room 301" },
            location = new { latitude = 22.540123, longitude = 114.050456 },
        });
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var created = (await reported.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = created["id"]!.GetValue<string>();
        Assert.Equal("resident-7", created["reporter"]!["id"]!.GetValue<string>());    // the token's subject, whatever the body says
        var assignee = created["assignee"]!["id"]!.GetValue<string>();

        async Task<(HttpStatusCode Status, JsonObject? Body)> ReadAs(HttpClient client)
        {
            var response = await client.GetAsync($"/api/incidents/{id}");
            return (response.StatusCode, response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null);
        }

        static string? Phone(JsonObject? view) => view?["reporter"]?["phone"]?.GetValue<string>();

        using var assigned = api.AsWorker(assignee, Grid);
        using var colleague = api.AsWorker("w-colleague", Grid);
        using var stranger = api.AsWorker("w-stranger", OtherGrid);
        using var street = api.As("admin-street", "street-admin", "449901001");
        using var otherStreet = api.As("admin-other", "street-admin", "449902001");
        using var department = api.As("officer", "department", "4499:city-management");
        using var otherResident = api.As("resident-8", "resident");

        Assert.Equal("13900000007", Phone((await ReadAs(resident)).Body));
        Assert.Equal("13900000007", Phone((await ReadAs(assigned)).Body));
        Assert.Equal("13900000007", Phone((await ReadAs(street)).Body));
        // The department owning the category sees its line's incidents, but personal data only of those assigned to it.
        var seenByDepartment = await ReadAs(department);
        Assert.Equal(HttpStatusCode.OK, seenByDepartment.Status);
        Assert.Null(Phone(seenByDepartment.Body));

        var seenByColleague = await ReadAs(colleague);
        Assert.Equal(HttpStatusCode.OK, seenByColleague.Status);
        Assert.Null(seenByColleague.Body!["reporter"]);
        Assert.Equal(22.54, seenByColleague.Body["location"]!["latitude"]!.GetValue<double>());
        Assert.DoesNotContain("13900000007", seenByColleague.Body.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Building 4", seenByColleague.Body.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Forbidden, (await ReadAs(stranger)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await ReadAs(otherStreet)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await ReadAs(otherResident)).Status);

        // Open311's public status shows none of it.
        using var anonymous = api.Anonymous();
        var open311 = await anonymous.GetStringAsync($"/open311/v2/requests/{id}.json");
        Assert.DoesNotContain("13900000007", open311, StringComparison.Ordinal);
        Assert.DoesNotContain("Wang Fang", open311, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hub_subscription_outside_the_callers_region_is_refused()
    {
        async Task<HubConnection> ConnectAs(string id, string role, string? scope)
        {
            var token = ApiFixture.Sign(id, role, scope);
            var connection = new HubConnectionBuilder().WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
            await connection.StartAsync();
            return connection;
        }

        await using var streetAdmin = await ConnectAs("admin-street", "street-admin", "449901001");
        var own = await streetAdmin.InvokeAsync<JsonElement>("Subscribe", "region:449901001");
        Assert.Equal("449901001", own.GetProperty("definition").GetProperty("code").GetString());
        await Assert.ThrowsAsync<HubException>(() => streetAdmin.InvokeAsync<JsonElement>("Subscribe", "region:449902001"));
        await Assert.ThrowsAsync<HubException>(() => streetAdmin.InvokeAsync<JsonElement>("Subscribe", "city"));
        await Assert.ThrowsAsync<HubException>(() => streetAdmin.InvokeAsync<JsonElement>("Subscribe", $"grid:{OtherGrid}"));

        await using var resident = await ConnectAs("resident-5", "resident", null);
        await Assert.ThrowsAsync<HubException>(() => resident.InvokeAsync<JsonElement>("Subscribe", "city"));
        await Assert.ThrowsAsync<HubException>(() => resident.InvokeAsync<JsonElement>("Subscribe", "worker:w449901001001001-1"));

        // The refused subscriptions joined nothing: the connection still serves what is allowed.
        var again = await streetAdmin.InvokeAsync<JsonElement>("Subscribe", $"grid:{Grid}");
        Assert.Equal(Grid, again.GetProperty("definition").GetProperty("code").GetString());
    }
}
