using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>
/// No input reaches a 5xx: a body the form reader refuses and a query value that does not bind are 400s naming the
/// field, in the problem shape on /api and in Open311's error array on /open311.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class RefusalTests(ApiFixture api)
{
    private const string Intake = "api_key=demo&service_code=0101&address_id=449901001001001";

    [Theory]
    [InlineData(Intake + "&description=a%00b")]                                      // the form reader refuses a NUL
    [InlineData(Intake + "&description%00=x")]
    [InlineData(Intake + "&description=x&KEY=1")]                                   // a key over the reader's 2048 limit
    public async Task A_form_the_reader_refuses_is_an_open311_400_not_a_500(string form)
    {
        form = form.Replace("KEY", new string('k', 3000), StringComparison.Ordinal);
        var response = await api.Http.PostAsync("/open311/v2/requests.json", new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode} {text}");
        var error = Assert.Single(JsonNode.Parse(text)!.AsArray())!;
        Assert.Equal(400, error["code"]!.GetValue<int>());
        Assert.StartsWith("body: ", error["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_with_too_many_values_is_an_open311_400()
    {
        var form = Intake + "&description=x" + string.Concat(Enumerable.Range(0, 1100).Select(i => $"&v{i}=1"));
        var response = await api.Http.PostAsync("/open311/v2/requests.json", new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("body: ", (await response.Content.ReadFromJsonAsync<JsonArray>())![0]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("multipart/form-data", "api_key=demo")]                                               // no boundary
    [InlineData("multipart/form-data; boundary=xx", "--xx\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\ndemo")]  // ends early
    public async Task A_multipart_body_the_reader_refuses_is_an_open311_400(string contentType, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/open311/v2/requests.json") { Content = new StringContent(body) };
        request.Content.Headers.Remove("Content-Type");
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await api.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode} {text}");
        Assert.StartsWith("body: ", JsonNode.Parse(text)!.AsArray()[0]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/incidents?region=4499&page=abc", "page")]
    [InlineData("/api/incidents?region=4499&pageSize=1e9", "pageSize")]
    [InlineData("/api/incidents?region=4499&pageSize=99999999999", "pageSize")]
    [InlineData("/api/incidents?region=4499&page=1&page=2", "page")]
    [InlineData("/api/incidents?region=4499&page=%00", "page")]
    [InlineData("/api/campaigns/x?limit=abc", "limit")]
    [InlineData("/api/audit?limit=zz", "limit")]
    [InlineData("/api/audit?region=4499&limit=1.5", "limit")]
    public async Task A_query_value_that_does_not_bind_is_a_400_problem_naming_the_field(string path, string field)
    {
        var response = await api.Http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal((400, "invalid-input", field), (problem["status"]!.GetValue<int>(), problem["title"]!.GetValue<string>(), problem["field"]?.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()));
    }
}
