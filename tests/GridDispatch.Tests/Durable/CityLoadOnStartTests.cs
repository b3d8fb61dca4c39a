using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Durable;

/// <summary>City:LoadOnStart on a durable cluster: a restart never puts a stored grid or worker back to the city file.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CityLoadOnStartTests(PostgresServer postgres)
{
    private const string Grid = "449901001001001";
    private const string Worker = "w449901001001001-1";

    [Fact]
    public async Task A_restart_keeps_what_was_changed_since_the_city_file_was_loaded()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var load = new Dictionary<string, string?> { ["GridDispatch:City:LoadOnStart"] = "true", ["GridDispatch:City:GenerateRegister"] = "false" };
        string fileName;
        int fileCapacity;
        await using (var first = await DurableHost.StartAsync(connection, load))
        {
            var grid = await first.Grains.GetGrain<IGridGrain>(Grid).GetAsync();
            var worker = await first.Grains.GetGrain<IWorkerGrain>(Worker).GetAsync();
            (fileName, fileCapacity) = (grid.Definition.Name, worker.Profile.Capacity);

            // Changed after the load, as an administrator would through the API.
            await first.Grains.GetGrain<IGridGrain>(Grid).DefineAsync(grid.Definition with { Name = "网格 renamed after the load" });
            await first.Grains.GetGrain<IWorkerGrain>(Worker).RegisterAsync(worker.Profile with { Capacity = fileCapacity + 7 });
        }

        await using var second = await DurableHost.StartAsync(connection, load);
        Assert.Equal("网格 renamed after the load", (await second.Grains.GetGrain<IGridGrain>(Grid).GetAsync()).Definition.Name);
        Assert.Equal(fileCapacity + 7, (await second.Grains.GetGrain<IWorkerGrain>(Worker).GetAsync()).Profile.Capacity);
        Assert.NotEqual("网格 renamed after the load", fileName);
        // Everything else of the file is there: another grid of the city, with its file name.
        Assert.False(string.IsNullOrEmpty((await second.Grains.GetGrain<IGridGrain>("449901001001002").GetAsync()).Definition.Name));
    }
}
