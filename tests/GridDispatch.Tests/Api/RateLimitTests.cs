using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Tests.Api;

/// <summary>A host of its own with small limits, so the shared host's tests never meet them.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task Intake_and_sign_in_are_limited_per_address_with_429_and_retry_after()
    {
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(loadCity: false,
        [
            "--GridDispatch:RateLimits:IntakePerMinute=3",
            "--GridDispatch:RateLimits:LoginPerMinute=2",
            "--Logging:LogLevel:Default=Warning",
            .. ApiFixture.AuthArgs,
        ]), RepoPaths.ApiProject);
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

        // No proxy is configured here: a forwarded address is not believed, so it cannot dodge the limit.
        using var spoofed = new HttpRequestMessage(HttpMethod.Post, "/api/incidents") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        spoofed.Headers.Add("X-Forwarded-For", "203.0.113.1");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.SendAsync(spoofed)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Behind_a_known_proxy_limits_count_the_forwarded_client_and_every_command_is_limited_per_user()
    {
        var logs = new CapturedLogs();
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(loadCity: false,
        [
            "--GridDispatch:Proxies:KnownProxies:0=127.0.0.1",
            "--GridDispatch:RateLimits:IntakePerMinute=2",
            "--GridDispatch:RateLimits:CommandsPerUserPerMinute=3",
            "--GridDispatch:RateLimits:CommandsPerAddressPerMinute=1000",
            "--Logging:LogLevel:Default=Warning",
            .. ApiFixture.AuthArgs,
        ]), RepoPaths.ApiProject, builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        // Enabled outside Development, the development issuer says so at start.
        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Event.Id == 6201);

        async Task<HttpStatusCode> SendAs(string token, HttpMethod method, string path, string? forwardedFor = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }

            return (await http.SendAsync(request)).StatusCode;
        }

        // Every command route counts per user: the fourth of one user is refused, another user goes on.
        var leader = ApiFixture.Sign("leader-limits", "grid-leader", "449901001001001");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await SendAs(leader, HttpMethod.Put, "/api/workers/w-none/status"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.DoesNotContain(HttpStatusCode.TooManyRequests, statuses.Take(3));
        Assert.NotEqual(HttpStatusCode.TooManyRequests, await SendAs(ApiFixture.Sign("leader-other", "grid-leader", "449901001001001"), HttpMethod.Put, "/api/workers/w-none/status"));

        // Intake counts the client the proxy forwarded: two reports from one resident's address, then 429; another address goes on.
        var intake = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            intake.Add(await SendAs(ApiFixture.Sign($"resident-p{i}", "resident"), HttpMethod.Post, "/api/incidents", "198.51.100.7"));
        }

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests], intake);
        Assert.Equal(HttpStatusCode.BadRequest, await SendAs(ApiFixture.Sign("resident-p9", "resident"), HttpMethod.Post, "/api/incidents", "198.51.100.8"));

        // The development routes answer this machine only, also when a proxy forwards someone else.
        using var fromAfar = new HttpRequestMessage(HttpMethod.Post, "/dev/token") { Content = new StringContent("{\"user\":\"commander-city\"}", Encoding.UTF8, "application/json") };
        fromAfar.Headers.Add("X-Forwarded-For", "198.51.100.9");
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(fromAfar)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, await SendUsersAsync(http, "198.51.100.9"));
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/dev/token", new { user = "commander-city" })).StatusCode);
        await app.StopAsync();
    }

    private static async Task<HttpStatusCode> SendUsersAsync(HttpClient http, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dev/users");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await http.SendAsync(request)).StatusCode;
    }
}
