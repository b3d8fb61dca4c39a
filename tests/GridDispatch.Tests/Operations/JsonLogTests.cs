using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Operations;

/// <summary>The container's logging setting: JSON lines on the console, each line of a request carrying its trace id.</summary>
public sealed class JsonLogTests
{
    [Fact]
    public async Task With_the_container_setting_every_line_is_json_and_a_requests_lines_carry_its_trace_id()
    {
        var port = ApiFixture.FreePort();
        var apiDir = Path.Combine(RepoPaths.Root, "src", "Api", "bin", SiloProcess.TestConfiguration, "net10.0");
        var start = new ProcessStartInfo("dotnet", Path.Combine(apiDir, "GridDispatch.Api.dll"))
        {
            WorkingDirectory = apiDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var env = start.Environment;
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["GridDispatch__Silo__SiloPort"] = ApiFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        env["GridDispatch__Silo__GatewayPort"] = ApiFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        env["GridDispatch__Simulation__Enabled"] = "false";
        env["GridDispatch__Auth__DevIssuer__Enabled"] = "true";
        env["GridDispatch__Auth__DevIssuer__SigningKey"] = ApiFixture.SigningKey;
        // What deploy/docker/compose.yaml and deploy/k8s/griddispatch.yaml set:
        env["Logging__Console__FormatterName"] = "json";
        env["Logging__Console__FormatterOptions__IncludeScopes"] = "true";
        env["Logging__LogLevel__Default"] = "Warning";
        env["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) lines.Enqueue(line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) lines.Enqueue(line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Eventually.Get(async () => { try { return (await http.GetAsync("/health/live")).IsSuccessStatusCode; } catch (HttpRequestException) { return false; } },
                up => up || process.HasExited, TimeSpan.FromSeconds(60), "the API process answering");
            Assert.False(process.HasExited, "the API process ended:\n" + string.Join("\n", lines.TakeLast(20)));
            var traceId = ActivityTraceId.CreateRandom();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/public/city");
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
            await http.SendAsync(request);

            var ofRequest = await Eventually.Get(() => Task.FromResult(lines.Where(l => l.Contains(traceId.ToString(), StringComparison.Ordinal)).ToList()),
                l => l.Count >= 2, TimeSpan.FromSeconds(10), "the request's log lines (start and finish)");
            foreach (var line in lines)
            {
                using var json = JsonDocument.Parse(line);      // every line, the host's own start-up lines too, is one JSON object
                Assert.True(json.RootElement.TryGetProperty("EventId", out _) && json.RootElement.TryGetProperty("LogLevel", out _), line);
            }

            foreach (var line in ofRequest)
            {
                using var json = JsonDocument.Parse(line);
                var scopes = json.RootElement.GetProperty("Scopes").EnumerateArray();
                Assert.Contains(scopes, s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out var id) && id.GetString() == traceId.ToString());
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
