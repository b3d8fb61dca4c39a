using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Api.Http;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Tests.Api;

/// <summary>
/// Refusals are outcomes, not crashes: on a host of its own that keeps every log entry, each kind of refusal is logged
/// once at Debug with no exception (so no stack trace) and nothing at Error; a real fault still is an Error with its
/// exception. In the API collection only so that it does not run beside the other API tests on a 2-core machine.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class RefusalLoggingTests
{
    private const string Grid = "449901001001001";

    [Fact]
    public async Task Refusals_are_logged_at_debug_without_a_stack_and_only_faults_at_error()
    {
        var logs = new CapturedLogs();
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(loadCity: true,
        [
            "--Logging:LogLevel:Default=Warning",
            "--GridDispatch:RateLimits:IntakePerMinute=1000000",
            "--GridDispatch:RateLimits:CommandsPerUserPerMinute=1000000",
            "--GridDispatch:RateLimits:CommandsPerAddressPerMinute=1000000",
            .. ApiFixture.AuthArgs,
        ]), RepoPaths.ApiProject, builder => builder.Logging.AddProvider(logs).AddFilter<CapturedLogs>(null, LogLevel.Debug));
        // Two real faults, one of a kind the engine throws for its own broken data: neither is the client's doing.
        app.MapGet("/test/fault", () => Results.Text(FaultyLookup())).AllowAnonymous();
        app.MapGet("/test/broken-data", () => Results.Text(BrokenData())).AllowAnonymous();
        await app.StartAsync();
        var baseAddress = new Uri(app.Urls.First());
        using var commander = new HttpClient { BaseAddress = baseAddress };
        commander.DefaultRequestHeaders.Authorization = new("Bearer", ApiFixture.Sign("commander-city", "commander", ApiFixture.City));
        var created = await commander.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = Grid, description = "log me" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var outsider = new HttpClient { BaseAddress = baseAddress };
        outsider.DefaultRequestHeaders.Authorization = new("Bearer", ApiFixture.Sign("w-elsewhere", "worker", "449902001002001"));
        using var leader = new HttpClient { BaseAddress = baseAddress };
        leader.DefaultRequestHeaders.Authorization = new("Bearer", ApiFixture.Sign($"leader-{Grid}", "grid-leader", Grid));

        static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
        static StringContent Form(string form) => new(form, Encoding.UTF8, "application/x-www-form-urlencoded");
        var refusals = new (string What, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Expected)[]
        {
            ("a bad body", () => commander.PostAsync("/api/incidents", Json($"{{\"category\":\"0101\",\"severity\":\"extreme\",\"gridCode\":\"{Grid}\"}}")), HttpStatusCode.BadRequest),
            ("a query value that does not bind", () => commander.GetAsync("/api/incidents?region=4499&page=abc"), HttpStatusCode.BadRequest),
            ("a body over the limit", () => commander.PostAsync("/api/incidents", Json(new string(' ', JsonBody.MaxBytes + 1))), HttpStatusCode.RequestEntityTooLarge),
            ("a form the reader refuses", () => commander.PostAsync("/open311/v2/requests.json", Form($"api_key=demo&service_code=0101&address_id={Grid}&description=a%00b")), HttpStatusCode.BadRequest),
            ("an unknown Open311 key", () => commander.PostAsync("/open311/v2/requests.json", Form($"api_key=nope&service_code=0101&address_id={Grid}&description=x")), HttpStatusCode.Forbidden),
            ("a worker outside their grid", () => outsider.PostAsync($"/api/incidents/{id}/start", Json("{}")), HttpStatusCode.Forbidden),
            ("an unknown incident", () => commander.GetAsync("/api/incidents/no-such-incident"), HttpStatusCode.NotFound),
            ("an illegal step", () => leader.PostAsync($"/api/incidents/{id}/verify", Json("{}")), HttpStatusCode.Conflict),
        };

        var before = logs.Entries.Count;
        foreach (var (what, send, expected) in refusals)
        {
            var response = await send();
            Assert.True(response.StatusCode == expected, $"{what}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var during = logs.Entries.Skip(before).Where(e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("GridDispatch", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(during, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(during, e => e.Exception is not null);
        var refused = during.Where(e => e.Category == RefusalMiddleware.LogCategory).ToList();
        Assert.Equal(refusals.Length, refused.Count);
        Assert.All(refused, e => Assert.Equal((LogLevel.Debug, 6002), (e.Level, e.Event.Id)));
        Assert.Contains(refused, e => e.Message.Contains("with 400 invalid-input on page", StringComparison.Ordinal));
        Assert.Contains(refused, e => e.Message.Contains("with 409", StringComparison.Ordinal));

        // A refused hub subscription is an outcome too: the hub filter logs it at Debug, nothing is logged at Error.
        var hubMark = logs.Entries.Count;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(baseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(ApiFixture.Sign("w-out", "worker", "449901001001001")))
            .Build();
        await using (connection)
        {
            await connection.StartAsync();
            await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => connection.InvokeAsync<JsonObject>("Subscribe", "city"));
        }

        var hubLogs = logs.Entries.Skip(hubMark).ToList();
        Assert.DoesNotContain(hubLogs, e => e.Level >= LogLevel.Error);
        Assert.Contains(hubLogs, e => e.Event.Id == 6301 && e.Level == LogLevel.Debug);

        // A real fault is still a 500 and an Error with its exception, also when it is an InvalidDataException.
        using var anonymous = new HttpClient { BaseAddress = baseAddress };
        foreach (var (path, type) in new[] { ("/test/fault", typeof(KeyNotFoundException)), ("/test/broken-data", typeof(InvalidDataException)) })
        {
            var mark = logs.Entries.Count;
            var fault = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.InternalServerError, fault.StatusCode);
            Assert.Equal("internal-error", (await fault.Content.ReadFromJsonAsync<JsonObject>())!["title"]!.GetValue<string>());
            Assert.Contains(logs.Entries.Skip(mark), e => e.Category == "GridDispatch.Api" && e.Event.Id == 6001 && e.Level == LogLevel.Error && e.Exception?.GetType() == type);
        }

        await app.StopAsync();
    }

    private static string FaultyLookup() => new Dictionary<string, string>()["missing"];

    private static string BrokenData() => throw new InvalidDataException("The category catalogue is empty");
}
