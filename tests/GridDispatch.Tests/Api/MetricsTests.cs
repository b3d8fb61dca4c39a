using System.Net;
using System.Net.Http.Json;
using System.Globalization;
using Microsoft.AspNetCore.SignalR.Client;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>/metrics for Prometheus: the domain's counters move with the loop, next to Orleans', ASP.NET Core's and the runtime's.</summary>
[Collection(ApiCollection.Name)]
public sealed class MetricsTests(ApiFixture api)
{
    [Fact]
    public async Task A_report_moves_the_domain_counters_on_the_scrape()
    {
        using var anonymous = api.Anonymous();
        var token = await api.TokenAsync("commander-city");
        await using var live = new HubConnectionBuilder()
            .WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        await live.StartAsync();
        var before = await ScrapeAsync(anonymous);

        // A city of its own with a free worker: the shared demo city's workers may be full from other tests.
        var city = TestCity.Create();
        city.AddWorker("counted", [city.Grid]);
        await city.LoadAsync(api.Grains);
        using var resident = await api.ClientAsync("resident-1");
        var reported = await resident.PostAsJsonAsync("/api/incidents", new
        {
            category = "0101", severity = "urgent", gridCode = city.Grid, description = "Counted", source = "metrics", externalId = Guid.NewGuid().ToString("N"),
        });
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);

        var id = (await reported.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<string>();
        await Eventually.Get(() => api.Grains.GetGrain<IIncidentGrain>(id).GetAsync(), v => v.Timeline.Any(e => e.Kind == IncidentEventKind.Dispatched),
            TimeSpan.FromSeconds(15), "the incident offered to the grid's worker");
        var after = await Eventually.Get(() => ScrapeAsync(anonymous),
            s => s.Sum("griddispatch_incidents_dispatched_total") > before.Sum("griddispatch_incidents_dispatched_total"),
            TimeSpan.FromSeconds(15), $"the offer counted (before: {before.Sum("griddispatch_incidents_dispatched_total")})");
        Assert.Contains("# TYPE griddispatch_incidents_reported_total counter", after.Text);
        Assert.True(after.Sum("griddispatch_incidents_reported_total", "severity=\"urgent\"") >= before.Sum("griddispatch_incidents_reported_total", "severity=\"urgent\"") + 1);
        Assert.True(after.Sum("griddispatch_incident_dispatch_duration_seconds_count") > before.Sum("griddispatch_incident_dispatch_duration_seconds_count"));
        Assert.True(after.Sum("griddispatch_worker_utilisation_count") > before.Sum("griddispatch_worker_utilisation_count"));

        // The platform's own, on the same scrape: Orleans' grain calls, ASP.NET Core's requests, SignalR's connections, the runtime.
        Assert.Contains("\norleans_", after.Text);
        Assert.Contains("\nhttp_server_request_duration_seconds_bucket", after.Text);
        Assert.True(after.Sum("signalr_server_active_connections") >= 1, "SignalR's connections are not counted");
        Assert.Contains("\ndotnet_gc_", after.Text);
    }

    [Fact]
    public async Task The_city_gauges_report_its_grids_and_workers()
    {
        using var anonymous = api.Anonymous();
        // The gauges read the roll-up once a second here (CityEvery): they agree with it once it has settled.
        var scrape = await Eventually.Get(async () => (Scrape: await ScrapeAsync(anonymous), City: (await api.Grains.GetRegion(ApiFixture.City).GetAsync()).Summary),
            s => s.Scrape.Sum("griddispatch_grids") == s.City.Green + s.City.Yellow + s.City.Red && s.Scrape.Sum("griddispatch_workers", "group=\"all\"") == s.City.Workers
                && s.City.Workers > 0, TimeSpan.FromSeconds(30), "the gauges agreeing with the city's roll-up");
        Assert.Equal(scrape.City.Capacity, scrape.Scrape.Sum("griddispatch_workers_capacity"));
        Assert.True(scrape.Scrape.Sum("griddispatch_workers_capacity") > 0);
    }

    [Fact]
    public async Task The_scrape_is_for_this_machine_and_the_named_networks_never_through_a_proxy()
    {
        using var anonymous = api.Anonymous();
        await ScrapeAsync(anonymous);      // loopback: Prometheus beside the host
        foreach (var header in new[] { "X-Forwarded-For", "Forwarded", "X-Real-IP" })
        {
            using var throughIngress = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            throughIngress.Headers.TryAddWithoutValidation(header, header == "Forwarded" ? "for=203.0.113.7" : "203.0.113.7");
            var refused = await anonymous.SendAsync(throughIngress);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.DoesNotContain("griddispatch_", await refused.Content.ReadAsStringAsync());
        }
    }

    internal static async Task<Scrape> ScrapeAsync(HttpClient http)
    {
        var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new Scrape("\n" + await response.Content.ReadAsStringAsync());
    }

    /// <summary>A Prometheus text exposition, read by metric name (and optionally one label) into summed samples.</summary>
    internal sealed record Scrape(string Text)
    {
        /// <summary>Only the domain's lines, for a failing test's message.</summary>
        public override string ToString() => string.Join("\n", Text.Split('\n').Where(l => l.StartsWith("griddispatch_", StringComparison.Ordinal)));

        public double Sum(string metric, string? label = null) => Text.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
            .Where(l => label is null || l.Contains(label, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') is var brace and >= 0 ? brace + 1 : metric.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
    }
}
