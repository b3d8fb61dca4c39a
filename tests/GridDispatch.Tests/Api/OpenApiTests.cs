using System.Net;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace GridDispatch.Tests.Api;

/// <summary>The API document: valid, complete (every mapped route), with the problem answers, and browsable at /docs.</summary>
[Collection(ApiCollection.Name)]
public sealed class OpenApiTests(ApiFixture api)
{
    /// <summary>
    /// Mapped routes that are not HTTP API operations: the live hub (SignalR's own protocol), the document itself, the
    /// Prometheus scrape (its own text format) and the Orleans dashboard (its own pages and data).
    /// </summary>
    private static readonly HashSet<string> NotOperations = ["/hubs/live", "/hubs/live/negotiate", "/openapi/{documentName}.json", "/metrics"];

    internal static async Task<(OpenApiDocument Document, string Json)> LoadAsync(HttpClient http)
    {
        var response = await http.GetAsync("/openapi/v1.json");
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/openapi/v1.json answered {(int)response.StatusCode}: {json[..Math.Min(json.Length, 500)]}");
        var read = OpenApiDocument.Parse(json, OpenApiConstants.Json, new OpenApiReaderSettings());
        Assert.NotNull(read.Document);
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0,
            "not a valid OpenAPI document: " + string.Join("; ", read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        return (read.Document!, json);
    }

    [Fact]
    public async Task The_document_is_valid_OpenAPI_and_describes_every_mapped_route()
    {
        using var anonymous = api.Anonymous();
        var (document, json) = await LoadAsync(anonymous);
        using (var raw = System.Text.Json.JsonDocument.Parse(json))
        {
            Assert.StartsWith("3.0.", raw.RootElement.GetProperty("openapi").GetString());    // what every client generator reads
        }

        var errors = document.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(errors.Count == 0, "validation: " + string.Join("; ", errors.Take(10).Select(e => $"{e.Pointer}: {e.Message}")));

        var described = document.Paths.SelectMany(p => p.Value.Operations?.Keys.Select(m => $"{m.Method.ToUpperInvariant()} {p.Key}") ?? []).ToHashSet();
        var mapped = ((IEndpointRouteBuilder)api.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => !NotOperations.Contains(Normalize(e.RoutePattern.RawText)) && !Normalize(e.RoutePattern.RawText).StartsWith("/dashboard", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Select(m => $"{m} {Normalize(e.RoutePattern.RawText)}") ?? [])
            .ToHashSet();
        Assert.True(mapped.Count > 45, $"only {mapped.Count} routes found mapped");
        Assert.Empty(mapped.Except(described));
        Assert.Empty(described.Except(mapped));
        foreach (var route in new[] { "POST /api/incidents", "POST /api/photos", "GET /api/regions/{code}/map", "GET /api/public/regions/{code}", "POST /open311/v2/requests.json" })
        {
            Assert.Contains(route, described);
        }
    }

    [Fact]
    public async Task Every_operation_has_an_id_a_success_schema_and_the_problem_answers_it_can_give()
    {
        using var anonymous = api.Anonymous();
        var (document, _) = await LoadAsync(anonymous);
        var ids = new HashSet<string>();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                var name = $"{method.Method} {path}";
                Assert.True(operation.OperationId is { Length: > 0 } id && ids.Add(id), $"{name}: no operation id, or one used twice");
                var responses = operation.Responses!;
                var success = responses.Where(r => r.Key.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, $"{name}: no success answer");
                Assert.All(success, r => Assert.True(r.Value.Content is { Count: > 0 }, $"{name} {r.Key}: no content schema"));
                var open311 = path.StartsWith("/open311", StringComparison.Ordinal);
                var problems = open311 ? "application/json" : "application/problem+json";
                var anonymousRoute = operation.Security is not { Count: > 0 };
                var expected = new List<string> { "400", "429", "503" };
                expected.AddRange(anonymousRoute ? [] : ["401", "403"]);
                expected.AddRange(path.Contains('{') ? ["404"] : []);
                expected.AddRange(method != HttpMethod.Get ? ["409"] : []);
                expected.AddRange(operation.RequestBody is not null ? ["413"] : []);
                foreach (var status in expected)
                {
                    Assert.True(responses.TryGetValue(status, out var answer), $"{name}: no {status}");
                    var own = path == "/health/ready" && status == "503";     // the probe's own answer, not a problem
                    Assert.True(answer!.Content?.ContainsKey(own ? "application/json" : problems) == true, $"{name} {status}: not {problems}");
                }

                if (method == HttpMethod.Post || method == HttpMethod.Put)
                {
                    Assert.True(operation.RequestBody?.Content is { Count: > 0 }, $"{name}: no request body schema");
                }
            }
        }

        // The problem shape names the field at fault; the bearer scheme is declared and used.
        var problem = document.Components!.Schemas!["Problem"];
        Assert.Contains("field", problem.Properties!.Keys);
        Assert.Equal(SecuritySchemeType.Http, document.Components.SecuritySchemes!["bearer"].Type);
        var report = document.Paths["/api/incidents"].Operations![HttpMethod.Post];
        Assert.Contains("category", report.RequestBody!.Content!["application/json"].Schema!.Properties!.Keys);
        Assert.Contains("service_code", document.Paths["/open311/v2/requests.json"].Operations![HttpMethod.Post]
            .RequestBody!.Content!["application/x-www-form-urlencoded"].Schema!.Properties!.Keys);
    }

    [Fact]
    public async Task The_reference_at_docs_renders_the_document_in_a_browser()
    {
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using (playwright)
        await using (browser)
        {
            await page.GotoAsync(new Uri(api.BaseAddress, "/docs/").ToString());
            await page.Locator(".opblock").First.WaitForAsync(new() { Timeout = 15_000 });
            var operations = await page.Locator(".opblock").CountAsync();
            Assert.True(operations > 45, $"/docs shows {operations} operations");
            Assert.Equal(0, await page.Locator(".errors-wrapper").CountAsync());
            Assert.Contains("GridDispatch API", await page.Locator(".info .title").InnerTextAsync());
            await page.Locator("#operations-Incidents-postIncidents").ClickAsync();
            await page.Locator("#operations-Incidents-postIncidents .responses-table").WaitForAsync();
            Assert.Contains("403", await page.Locator("#operations-Incidents-postIncidents .responses-table").InnerTextAsync());
            await HeadlessChromium.ScreenshotAsync(page, "docs");
            Assert.Empty(errors);
        }
    }

    /// <summary>A route pattern as the document writes its path: {id:guid} → {id}, {*rest} → {rest}.</summary>
    private static string Normalize(string? pattern) => System.Text.RegularExpressions.Regex.Replace(
        "/" + (pattern ?? "").TrimStart('/'), @"\{\*?([A-Za-z0-9_]+)[^}]*\}", "{$1}");
}
