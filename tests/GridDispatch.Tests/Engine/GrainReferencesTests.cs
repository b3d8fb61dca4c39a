using GridDispatch.Tests.Infrastructure;
using GridDispatch.Workers;

namespace GridDispatch.Tests.Engine;

/// <summary>References built from the cached grain and interface types are the ones GetGrain returns.</summary>
[Collection(ClusterCollection.Name)]
public sealed class GrainReferencesTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public void A_cached_reference_equals_the_one_GetGrain_returns_for_every_key_and_interface()
    {
        foreach (var key in new[] { "w-ref-1", "w-ref-2", "四川-1" })
        {
            _ = Grains.Reference<IWorkerGrain>("w-ref-0");     // the first call resolves the types
            AssertSame(Grains.GetGrain<IWorkerGrain>(key), Grains.Reference<IWorkerGrain>(key));
        }

        // Interfaces of one grain class family stay apart: each has its own grain type.
        var community = Grains.Reference<ICommunityGrain>("449901001001");
        var street = Grains.Reference<IStreetGrain>("449901001");
        AssertSame(Grains.GetGrain<ICommunityGrain>("449901001001"), Grains.Reference<ICommunityGrain>("449901001001"));
        AssertSame(Grains.GetGrain<IStreetGrain>("449901001"), Grains.Reference<IStreetGrain>("449901001"));
        Assert.NotEqual(community.GetGrainId().Type, street.GetGrainId().Type);
    }

    [Fact]
    public async Task A_call_through_a_cached_reference_reaches_the_same_activation()
    {
        var city = await TestCity.Create().LoadAsync(Grains);
        var id = $"{city.Code}-ref";
        _ = Grains.Reference<IWorkerGrain>($"{city.Code}-ref-warm");
        await Grains.Reference<IWorkerGrain>(id).RegisterAsync(new WorkerProfile(id, "Ref", WorkerKind.Volunteer, [city.Grid], [], 3));

        var view = await Grains.GetGrain<IWorkerGrain>(id).GetAsync();
        Assert.Equal("Ref", view.Profile!.Name);
    }

    private static void AssertSame<T>(T expected, T actual)
        where T : IGrainWithStringKey
    {
        Assert.Equal(expected.GetGrainId(), actual.GetGrainId());
        Assert.Equal(((GrainReference)(object)expected).InterfaceType, ((GrainReference)(object)actual).InterfaceType);
        Assert.Equal((object)expected, actual);
    }
}
