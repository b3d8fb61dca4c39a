using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Tests.Operations;

/// <summary>
/// The OTLP export as a collector receives it: a stand-in OTLP/HTTP collector on loopback, the API host pointed at it by
/// the standard variables only (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL), and a report's spans and the domain's metrics
/// arriving there as protobuf.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task With_the_standard_variables_set_traces_and_metrics_reach_the_collector()
    {
        var received = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var collector = WebApplication.CreateBuilder();
        collector.WebHost.UseUrls("http://127.0.0.1:0");
        collector.Logging.ClearProviders();
        await using var standIn = collector.Build();
        standIn.MapPost("/v1/{signal}", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue((request.Path, request.ContentType ?? "", body.ToArray()));
            return Results.Ok();
        });
        await standIn.StartAsync();
        var endpoint = standIn.Urls.First();

        await using var app = GridDispatchApi.Create(
        [
            "--urls=http://127.0.0.1:0",
            $"--GridDispatch:Silo:SiloPort={ApiFixture.FreePort()}",
            $"--GridDispatch:Silo:GatewayPort={ApiFixture.FreePort()}",
            "--GridDispatch:Simulation:Enabled=false",
            "--Logging:LogLevel:Default=Warning",
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_BSP_SCHEDULE_DELAY=200",
            "--OTEL_METRIC_EXPORT_INTERVAL=500",
            .. ApiFixture.AuthArgs,
        ], RepoPaths.ApiProject);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("resident-otlp", "resident"));
        var reported = await http.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = "449901001001002", description = "exported" });
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var id = (await reported.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<string>();

        // Protobuf keeps strings as UTF-8 bytes: the service, the incident's id (a span tag) and the instrument's name.
        static bool Holds(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
        await Eventually.Get(() => Task.FromResult(received.ToArray()), r => r.Any(x => x.Path == "/v1/traces" && Holds(x.Body, id)),
            TimeSpan.FromSeconds(20), "the report's spans at the collector");
        var metrics = await Eventually.Get(() => Task.FromResult(received.Where(x => x.Path == "/v1/metrics").ToArray()),
            r => r.Any(x => Holds(x.Body, "griddispatch.incidents.reported")), TimeSpan.FromSeconds(20), "the domain's counters at the collector");
        Assert.All(received, x => Assert.Equal("application/x-protobuf", x.ContentType));
        Assert.Contains(metrics, x => Holds(x.Body, "griddispatch-api"));     // the resource's service.name
        await app.StopAsync();
    }
}
