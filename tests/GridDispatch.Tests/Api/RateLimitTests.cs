using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace GridDispatch.Tests.Api;

/// <summary>A host of its own with small limits, so the shared host's tests never meet them.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task Intake_and_sign_in_are_limited_per_address_with_429_and_retry_after()
    {
        await using var app = GridDispatchApi.Create(
        [
            "--urls=http://127.0.0.1:0",
            $"--GridDispatch:Silo:SiloPort={ApiFixture.FreePort()}",
            $"--GridDispatch:Silo:GatewayPort={ApiFixture.FreePort()}",
            "--GridDispatch:Simulation:Enabled=false",
            "--GridDispatch:City:LoadOnStart=false",
            "--GridDispatch:RateLimits:IntakePerMinute=3",
            "--GridDispatch:RateLimits:LoginPerMinute=2",
            "--Logging:LogLevel:Default=Warning",
            .. ApiFixture.AuthArgs,
        ], RepoPaths.ApiProject);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var logins = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            logins.Add(await http.PostAsJsonAsync("/dev/token", new { user = "commander-city" }));
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], logins.Select(r => r.StatusCode));
        var refused = logins[2];
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("too-many-requests", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["title"]!.GetValue<string>());

        // Intake: counted before the body is read, so even bad reports use up the allowance; other routes are not limited.
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("resident-3", "resident"));
        var reports = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            reports.Add((await http.PostAsync("/api/incidents", new StringContent("{}", Encoding.UTF8, "application/json"))).StatusCode);
        }

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests], reports);
        var open311 = await http.PostAsync("/open311/v2/requests.json",
            new StringContent("api_key=demo&service_code=0101&address_id=449901001001001&description=x", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.TooManyRequests, open311.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        await app.StopAsync();
    }
}
