using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace GridDispatch.Bench;

/// <summary>
/// The one silo the city-scale scenarios run on, built as the hosts build it: in memory, or PostgreSQL when
/// ConnectionStrings__GridDispatch is set; no simulator, no city loaded on start; <c>bench-commander</c> commands the
/// city; warnings counted; grains kept for the whole run (collecting them midway would measure reactivation instead).
/// </summary>
public sealed class CityHost : IDisposable
{
    private CityHost(IHost host, string? connectionString)
    {
        Host = host;
        ConnectionString = connectionString;
    }

    public IHost Host { get; }

    public string? ConnectionString { get; }

    public IGrainFactory Grains => Host.Services.GetRequiredService<IGrainFactory>();

    public static async Task<CityHost> StartAsync(string cityCode, WarningCounter warnings, Action<ISiloBuilder>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(warnings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GridDispatch:City:LoadOnStart"] = "false",
            ["GridDispatch:Simulation:Enabled"] = "false",
            ["GridDispatch:Command:Commanders:bench-commander"] = cityCode,
        });
        builder.UseOrleans(silo =>
        {
            silo.UseGridDispatch(builder.Configuration);
            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(2));
            configure?.Invoke(silo);
        });
        var host = builder.Build();
        await host.StartAsync();
        return new CityHost(host, builder.Configuration.GetConnectionString("GridDispatch"));
    }

    public void Dispose() => Host.Dispose();
}
