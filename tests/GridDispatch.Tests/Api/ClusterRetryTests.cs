using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace GridDispatch.Tests.Api;

/// <summary>
/// The API's cluster boundary: a command whose message a grain's (dead) silo rejected is run again a bounded number
/// of times, then answered 503 with Retry-After — never 500, and never run twice. The rejection is injected by a
/// grain call filter on the host's silo, in front of the incident's Report.
/// </summary>
public sealed class ClusterRetryTests
{
    private sealed class RejectReports : IIncomingGrainCallFilter
    {
        private int _toReject;
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public void Reject(int times) => Volatile.Write(ref _toReject, times);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceName.EndsWith("IIncidentGrain", StringComparison.Ordinal) && context.MethodName == "ReportAsync")
            {
                Interlocked.Increment(ref _calls);
                if (Interlocked.Decrement(ref _toReject) >= 0)
                {
                    // Its constructors are Orleans' own: made as the runtime makes it when a silo is gone.
                    throw (Orleans.Runtime.OrleansMessageRejectionException)Activator.CreateInstance(typeof(Orleans.Runtime.OrleansMessageRejectionException),
                        System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance,
                        null, ["test: the incident's silo is gone"], null)!;
                }
            }

            return context.Invoke();
        }
    }

    private static object Report(string key) => new
    {
        category = "0101", severity = "routine", gridCode = "449901001001001", description = "Rubbish by the school gate",
        source = "app", externalId = key,
    };

    [Fact]
    public async Task A_rejected_command_is_run_again_and_lands_once_and_one_rejected_every_time_is_a_503_that_changed_nothing()
    {
        var filter = new RejectReports();
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(loadCity: true, ["--Logging:LogLevel:Default=Warning", .. ApiFixture.AuthArgs]),
            RepoPaths.ApiProject, b => b.Services.AddSingleton<IIncomingGrainCallFilter>(filter));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await ApiFixture.TokenAsync(http.BaseAddress, "commander-city"));

        // Rejected once: the second attempt lands, with the whole body, and the incident exists once.
        filter.Reject(1);
        var response = await http.PostAsJsonAsync("/api/incidents", Report("retry-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, filter.Calls);
        var read = await http.GetFromJsonAsync<JsonObject>($"/api/incidents/{created["id"]}");
        Assert.Equal(3, read!["timeline"]!.AsArray().Count); // reported, accepted, dispatched: once each

        // Rejected every time: 1 + the bounded retries, then 503 with Retry-After and a problem body; nothing was stored.
        filter.Reject(100);
        var before = filter.Calls;
        var key = "never-" + Guid.NewGuid().ToString("N");
        var refused = await http.PostAsJsonAsync("/api/incidents", Report(key));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("2", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("unavailable", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["title"]!.GetValue<string>());
        Assert.Equal(1 + GridDispatch.Api.Http.ClusterRetry.Attempts, filter.Calls - before);

        // Sent again with its key once the cluster takes it: it lands, once.
        filter.Reject(0);
        var again = await http.PostAsJsonAsync("/api/incidents", Report(key));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var landed = (await again.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(3, landed["timeline"]!.AsArray().Count);
    }
}
