using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>A silo host exactly as production builds it, pointed at a test database, on free loopback ports.</summary>
public sealed class DurableHost : IAsyncDisposable
{
    private readonly IHost _host;

    private DurableHost(IHost host) => _host = host;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => _host.Services;

    public static async Task<DurableHost> StartAsync(string connectionString, IDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:GridDispatch"] = connectionString,
            ["GridDispatch:Silo:SiloPort"] = ApiFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GridDispatch:Silo:GatewayPort"] = ApiFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GridDispatch:City:LoadOnStart"] = "false",
            ["GridDispatch:Simulation:Enabled"] = "false",
            ["GridDispatch:Dispatch:RollupInterval"] = "00:00:00.200",
        });
        builder.Configuration.AddInMemoryCollection(GridDispatch.Silo.Database.MembershipTimingOptions.Fast);     // a killed test silo is declared dead in ~1 s
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
        var host = builder.Build();
        await host.StartAsync();
        return new DurableHost(host);
    }

    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or ObjectDisposedException or Orleans.Runtime.OrleansException)
        {
            // Already stopped, or the test killed it.
        }

        _host.Dispose();

        // Each test has a database of its own, so a pool of its own; their idle connections would otherwise stay open
        // for minutes and add up to the server's connection limit over a run.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
