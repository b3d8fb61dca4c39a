using System.Net;
using System.Net.Http.Json;
using GridDispatch.Api;
using GridDispatch.Api.Http;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Operations;

/// <summary>Production defaults: a bad setting stops the start with its name; readiness means "can serve".</summary>
public sealed class StartupTests
{
    private static string[] Args(params string[] extra) => ApiFixture.HostArgs(null, ["--GridDispatch:City:LoadOnStart=false", .. extra]);

    /// <summary>A durable host's settings are read as the host is built, before any connection is tried: a closed port will do.</summary>
    private const string Durable = "--ConnectionStrings:GridDispatch=Host=127.0.0.1;Port=1;Username=nobody;Database=nothing";

    [Theory]
    [InlineData("--GridDispatch:Public:YellowFrom=2", "GridDispatch:Public:YellowFrom")]
    [InlineData("--GridDispatch:Telemetry:PrometheusPort=70000", "GridDispatch:Telemetry:PrometheusPort")]
    [InlineData("--GridDispatch:Telemetry:CityEvery=00:00:00.010", "GridDispatch:Telemetry:CityEvery")]
    [InlineData("--GridDispatch:Dispatch:Everyday:HandleLimits:0101=soon", "GridDispatch:Dispatch:<mode>:HandleLimits")]
    [InlineData("--GridDispatch:Dispatch:RoutineWeight=0", "GridDispatch:Dispatch:RoutineWeight is from 1 to 100, not 0")]
    [InlineData("--GridDispatch:Dispatch:DeadlineSweepInterval=00:00:00", "GridDispatch:Dispatch:DeadlineSweepInterval")]
    [InlineData("--GridDispatch:Difficulty:ScorePerWorker=0", "GridDispatch:Difficulty:ScorePerWorker")]
    [InlineData("--GridDispatch:Calendar:TimeZone=Mars/Olympus_Mons", "GridDispatch:Calendar:TimeZone")]
    [InlineData("--GridDispatch:Calendar:Periods:0=nine-to-five", "GridDispatch:Calendar:Periods")]
    [InlineData("--GridDispatch:Catalog:Path=/nowhere/categories.json", "GridDispatch:Catalog:Path names a file that exists")]
    [InlineData("--GridDispatch:Command:Commanders:chief= ", "GridDispatch:Command:Commanders:chief")]
    [InlineData("--GridDispatch:Simulation:MaxStep=00:00:01", "GridDispatch:Simulation:MaxStep is at least MinStep")]
    [InlineData("--GridDispatch:City:Parallelism=0", "GridDispatch:City:Parallelism")]
    [InlineData("--GridDispatch:Silo:SiloPort=70000", "GridDispatch:Silo:SiloPort")]
    [InlineData("--GridDispatch:RateLimits:IntakePerMinute=0", "GridDispatch:RateLimits:IntakePerMinute is at least 1, not 0")]
    [InlineData("--GridDispatch:Proxies:KnownNetworks:0=the-lan", "GridDispatch:Proxies:KnownNetworks:0")]
    [InlineData("--GridDispatch:Live:AccessReviewInterval=00:00:00", "GridDispatch:Live:AccessReviewInterval")]
    [InlineData("--GridDispatch:Map:TileUrl=tiles.example.org/z/x/y.png", "GridDispatch:Map:TileUrl")]
    [InlineData("--GridDispatch:Database:StateWritersInFlight=0", "GridDispatch:Database:StateWritersInFlight", Durable)]
    [InlineData("--GridDispatch:IncidentStore:Linger=00:00:05", "GridDispatch:IncidentStore:Linger is from 00:00:00 to 00:00:01, not 00:00:05", Durable)]
    [InlineData("--GridDispatch:EventLog:BatchSize=0", "GridDispatch:EventLog:BatchSize", Durable)]
    [InlineData("--GridDispatch:Membership:NumVotesForDeathDeclaration=0", "GridDispatch:Membership:NumVotesForDeathDeclaration", Durable)]
    public async Task A_bad_setting_stops_the_start_with_its_name(string setting, string named, string? host = null)
    {
        // Some settings are read as the host is built (rate limits, the durable silo's), the rest when it starts.
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = GridDispatchApi.Create(Args(host is null ? [setting] : [host, setting]), RepoPaths.ApiProject);
            await app.StartAsync();
        });
        Assert.Contains(named, refused.Message);
    }

    [Fact]
    public void Every_broken_rule_of_a_section_is_named_at_once()
    {
        var broken = new RateLimitOptions { IntakePerMinute = 0, LoginPerMinute = -1 };
        var refused = Assert.Throws<OptionsValidationException>(() => RateLimitOptions.Rules.Check(broken));
        Assert.Equal(["GridDispatch:RateLimits:IntakePerMinute is at least 1, not 0", "GridDispatch:RateLimits:LoginPerMinute is at least 1, not -1"], refused.Failures);
        var defaults = new RateLimitOptions();
        Assert.Same(defaults, RateLimitOptions.Rules.Check(defaults));
    }

    [Theory]
    [InlineData("--GridDispatch:Auth:DevIssuer:AllowFrom:0=the-bridge", "GridDispatch:Auth:DevIssuer:AllowFrom:0")]
    [InlineData("--GridDispatch:Telemetry:MetricsFrom:0=10.0.0.0/99", "GridDispatch:Telemetry:MetricsFrom:0")]
    public void A_network_that_is_not_one_stops_the_start_with_its_name(string setting, string named)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => GridDispatchApi.Create(Args(setting), RepoPaths.ApiProject));
        Assert.Contains(named, refused.Message);
    }

    [Fact]
    public void A_named_network_admits_its_callers_unless_they_came_through_a_proxy()
    {
        static Microsoft.AspNetCore.Http.DefaultHttpContext From(string address, string? forwarded = null)
        {
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(address);
            if (forwarded is not null)
            {
                context.Request.Headers["X-Forwarded-For"] = forwarded;
            }

            return context;
        }

        var none = CallerNetworks.Parse([], "GridDispatch:Telemetry:MetricsFrom");
        var pods = CallerNetworks.Parse(["10.0.0.0/8"], "GridDispatch:Telemetry:MetricsFrom");
        Assert.Equal((true, false), (none.Admits(From("127.0.0.1")), none.Admits(From("10.1.2.3"))));
        Assert.Equal((true, true, false, false), (pods.Admits(From("10.1.2.3")), pods.Admits(From("::ffff:10.1.2.3")), pods.Admits(From("192.168.1.5")),
            pods.Admits(From("10.1.2.3", "203.0.113.7"))));
    }

    [Theory]
    [InlineData("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", true)]
    [InlineData("https://tiles.example.org/{z}/{x}/{y}{r}.png", true)]
    [InlineData("/tiles/{z}/{x}/{y}.png", true)]
    [InlineData("", true)]
    [InlineData("tiles.example.org/{z}/{x}/{y}.png", false)]
    [InlineData("https://tiles.example.org/{z}/{x}.png", false)]
    [InlineData("ftp://tiles.example.org/{z}/{x}/{y}.png", false)]
    [InlineData("//tiles.example.org/{z}/{x}/{y}.png", false)]
    public void A_tile_template_is_an_http_url_or_a_path_with_z_x_and_y(string template, bool taken) =>
        Assert.Equal(taken, GridDispatch.Api.Endpoints.MapOptions.Rules.Failures(new() { TileUrl = template }).Count == 0);

    [Fact]
    public async Task Readiness_is_can_serve_an_event_log_behind_is_degraded_and_a_silent_database_is_not_ready()
    {
        var log = new FakeLog();
        await using var app = GridDispatchApi.Create(Args(), RepoPaths.ApiProject, b => b.Services.AddSingleton<IEventLogHealth>(log));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var ready = await http.GetAsync("/health/ready");
        Assert.Equal((HttpStatusCode.OK, "ready"), (ready.StatusCode, (await ready.Content.ReadFromJsonAsync<HealthBody>())!.Status));

        log.Ready = false;      // the event log falls behind: the host still serves, and says so
        var degraded = await http.GetAsync("/health/ready");
        var body = (await degraded.Content.ReadFromJsonAsync<HealthBody>())!;
        Assert.Equal((HttpStatusCode.OK, "degraded", 9000L), (degraded.StatusCode, body.Status, body.Backlog));

        log.Answers = false;    // the database does not answer: this host cannot serve
        var down = await http.GetAsync("/health/ready");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "not-ready"), (down.StatusCode, (await down.Content.ReadFromJsonAsync<HealthBody>())!.Status));
        await app.StopAsync();
    }

    private sealed record HealthBody(string Status, string? Detail, long? Backlog);

    private sealed class FakeLog : IEventLogHealth
    {
        public volatile bool Ready = true;
        public volatile bool Answers = true;

        public bool IsReady => Ready;

        public int Backlog => Ready ? 0 : 9000;

        public string Status => Ready ? "keeping up" : "event log: 9000 rows waiting";

        public Task<bool> DatabaseAnswersAsync() => Task.FromResult(Answers);
    }
}
