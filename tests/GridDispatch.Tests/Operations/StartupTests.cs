using System.Net;
using System.Net.Http.Json;
using GridDispatch.Api;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Operations;

/// <summary>Production defaults: a bad setting stops the start with its name; readiness means "can serve".</summary>
public sealed class StartupTests
{
    private static string[] Args(params string[] extra) =>
    [
        "--urls=http://127.0.0.1:0",
        $"--GridDispatch:Silo:SiloPort={ApiFixture.FreePort()}",
        $"--GridDispatch:Silo:GatewayPort={ApiFixture.FreePort()}",
        "--GridDispatch:City:LoadOnStart=false",
        "--Logging:LogLevel:Default=Warning",
        .. ApiFixture.AuthArgs,
        .. extra,
    ];

    [Theory]
    [InlineData("--GridDispatch:Public:YellowFrom=2", "GridDispatch:Public:YellowFrom")]
    [InlineData("--GridDispatch:Telemetry:PrometheusPort=70000", "GridDispatch:Telemetry:PrometheusPort")]
    [InlineData("--GridDispatch:Telemetry:CityEvery=00:00:00.010", "GridDispatch:Telemetry:CityEvery")]
    [InlineData("--GridDispatch:Dispatch:Everyday:HandleLimits:0101=soon", "GridDispatch:Dispatch:<mode>:HandleLimits")]
    public async Task A_bad_setting_stops_the_start_with_its_name(string setting, string named)
    {
        await using var app = GridDispatchApi.Create(Args(setting), RepoPaths.ApiProject);
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(named, refused.Message);
    }

    [Fact]
    public void A_development_issuer_network_that_is_not_one_stops_the_start_with_its_name()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => GridDispatchApi.Create(Args("--GridDispatch:Auth:DevIssuer:AllowFrom:0=the-bridge"), RepoPaths.ApiProject));
        Assert.Contains("GridDispatch:Auth:DevIssuer:AllowFrom:0", refused.Message);
    }

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
