using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using GridDispatch.Api;
using GridDispatch.Telemetry;
using GridDispatch.Tests.Infrastructure;
using OpenTelemetry.Trace;

namespace GridDispatch.Tests.Durable;

/// <summary>One trace from the HTTP request through the grain calls to PostgreSQL, with the domain's tags on it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TracingTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_report_is_one_span_tree_from_http_through_grains_to_the_database()
    {
        var spans = new Spans();
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(connection, "--GridDispatch:Telemetry:Tracing=true"), RepoPaths.ApiProject, builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("resident-21", "resident"));
        // The caller's own trace (W3C traceparent), as a gateway or another service would send it: this request's spans are
        // told apart from every other host's in this test process (span listeners are process-wide) by its trace id.
        var (traceId, caller) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/incidents")
        {
            Content = JsonContent.Create(new { category = "0101", severity = "routine", gridCode = "449901001001002", description = "traced" }),
        };
        post.Headers.Add("traceparent", $"00-{traceId}-{caller}-01");
        var reported = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var id = (await reported.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<string>();

        // The request's span, then everything in its trace (spans are exported as they end; the server span ends last).
        var request = await Eventually.Get(() => Task.FromResult(Snapshot(spans).FirstOrDefault(s =>
                s.TraceId == traceId && s.ParentSpanId == caller && s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore")),
            s => s is not null, TimeSpan.FromSeconds(10), "the HTTP request's span, in the caller's trace");
        Assert.Equal("/api/incidents", request!.GetTagItem("http.route"));
        var trace = Snapshot(spans).Where(s => s.TraceId == traceId).ToList();
        var byId = trace.ToDictionary(s => s.SpanId);
        bool Under(Activity span, Func<Activity, bool> ancestor)
        {
            for (var at = span; byId.TryGetValue(at.ParentSpanId, out var parent); at = parent)
            {
                if (ancestor(parent))
                {
                    return true;
                }
            }

            return false;
        }

        var incidentCall = trace.FirstOrDefault(s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ActivityKind.Server
            && s.GetTagItem(DomainTags.Incident) as string == id);
        Assert.True(incidentCall is not null, "no grain call span of the incident, tagged with its id, in the request's trace: "
            + string.Join(", ", trace.Select(s => $"{s.Source.Name}:{s.DisplayName}:{s.Kind}:{string.Join(";", s.Tags.Select(t => t.Key + "=" + t.Value))}"))
            + " | sources: " + string.Join(", ", Snapshot(spans).GroupBy(s => s.Source.Name).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.True(Under(incidentCall!, s => s == request), "the incident's grain call is not under the HTTP span");
        Assert.Equal(request.SpanId, AncestorOf(incidentCall!, byId).SpanId);

        // The database: writes go in group commits, whose span is the child of its first caller's (a span of this
        // request's grain calls) and links to the others'; Npgsql's commands are the commit's children.
        var (commit, command) = await Eventually.Get(() =>
        {
            var all = Snapshot(spans);
            var commits = all.Where(s => s.Source.Name == EngineMetrics.MeterName && s.TraceId == request.TraceId && byId.ContainsKey(s.ParentSpanId)).ToList();
            return Task.FromResult((Commit: commits.FirstOrDefault(c => all.Any(d => d.Source.Name == "Npgsql" && d.ParentSpanId == c.SpanId)),
                Command: all.FirstOrDefault(d => d.Source.Name == "Npgsql" && commits.Any(c => c.SpanId == d.ParentSpanId))));
        }, c => c.Commit is not null, TimeSpan.FromSeconds(10), "a group commit in the request's trace with Npgsql's commands under it");
        trace = Snapshot(spans).Where(s => s.TraceId == request.TraceId).ToList();
        byId = trace.ToDictionary(s => s.SpanId);
        Assert.True(Under(commit!, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)), "the commit is not under a grain call");
        Assert.True(Under(commit!, s => s == request), "the commit is not under the HTTP request");
        Assert.Equal(request.TraceId, command!.TraceId);
        Assert.Contains(commit!.DisplayName, new[] { "incident-store commit", "grain-state commit" });

        var gridCall = trace.FirstOrDefault(s => s.GetTagItem(DomainTags.Grid) as string == "449901001001002" && s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        Assert.True(gridCall is not null, "no grid call tagged with its code");
        Assert.Equal("everyday", gridCall!.GetTagItem(DomainTags.Mode));
        Assert.Equal("grid", gridCall.GetTagItem(DomainTags.Level));
        await app.StopAsync();
    }

    private static List<Activity> Snapshot(Spans spans) => spans.Snapshot();

    /// <summary>The exporter's collection: spans end (and are added) on whichever thread ends them.</summary>
    private sealed class Spans : System.Collections.ObjectModel.Collection<Activity>
    {
        public List<Activity> Snapshot()
        {
            lock (Items)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (Items)
            {
                base.InsertItem(index, item);
            }
        }
    }

    /// <summary>The outermost span of the trace above <paramref name="span"/>.</summary>
    private static Activity AncestorOf(Activity span, Dictionary<ActivitySpanId, Activity> byId)
    {
        var at = span;
        while (byId.TryGetValue(at.ParentSpanId, out var parent))
        {
            at = parent;
        }

        return at;
    }
}
