using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>A client generated from the served document, as an integrator would generate one, calls the API.</summary>
[Collection(ApiCollection.Name)]
public sealed class OutsideClientTests(ApiFixture api)
{
    [Fact]
    public async Task A_client_generated_from_the_document_reports_reads_and_is_refused_with_the_documented_problem()
    {
        using var anonymous = api.Anonymous();
        var (_, json) = await OpenApiTests.LoadAsync(anonymous);
        using var resident = await api.ClientAsync("resident-1");
        var client = await GeneratedClient.CreateAsync(json, resident);

        // A resident's report through the generated method and model.
        var externalId = $"outside-{Guid.NewGuid():N}";
        var request = client.Model("ReportIncidentRequest",
            ("Category", "0101"), ("Severity", "Routine"), ("GridCode", "449901001001001"), ("Description", "Rubbish by the gate"),
            ("Source", "outside"), ("ExternalId", externalId));
        object? reported;
        try
        {
            reported = await client.CallAsync("postIncidents", request);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException("the generated client's report was refused: " + GeneratedClient.ProblemOf(e));
        }

        Assert.NotNull(reported);
        var id = (string)GeneratedClient.Get(reported!, "Id")!;
        Assert.Equal("449901001001001", GeneratedClient.Get(reported!, "GridCode"));

        // Read back through the generated GET: the same incident, as the engine holds it.
        var read = await client.CallAsync("getIncidentsById", id);
        Assert.Equal(id, GeneratedClient.Get(read!, "Id"));
        var held = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
        Assert.Equal(held.State.ToString(), GeneratedClient.Get(read!, "State")!.ToString());
        Assert.Equal("Rubbish by the gate", GeneratedClient.Get(read!, "Description"));

        // A refusal arrives as the generated client's exception with its status and the problem's field.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.CallAsync("getAudit", "449901", null, 10));
        Assert.Equal(403, GeneratedClient.StatusOf(refused));
        var missing = await Assert.ThrowsAnyAsync<Exception>(() => client.CallAsync("getIncidentsById", "no-such-incident"));
        Assert.Equal(404, GeneratedClient.StatusOf(missing));
        Assert.Equal("Problem", missing.GetType().GetProperty("Result")?.PropertyType.Name);
    }
}
