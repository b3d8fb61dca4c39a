using GridDispatch.City;
using GridDispatch.Silo.Database;
using GridDispatch.Domain;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace GridDispatch.Silo;

/// <summary>Where the city comes from at start-up (section "GridDispatch:City").</summary>
public sealed class CityOptions
{
    public const string Section = "GridDispatch:City";

    /// <summary>Load a city definition when the silo starts.</summary>
    public bool LoadOnStart { get; set; } = true;

    /// <summary>City definition file; relative paths are resolved against the application directory.</summary>
    public string Path { get; set; } = "cities/demo.json";

    /// <summary>Degree of parallelism of the load fan-out (see <see cref="GridDispatch.City.CityLoader.DefaultParallelism"/>).</summary>
    public int Parallelism { get; set; } = GridDispatch.City.CityLoader.DefaultParallelism;

    /// <summary>
    /// Give every grid whose household register is empty a generated one (a simulated city; never over a real register).
    /// Off unless set: the shipped griddispatch.json sets it for the demo city.
    /// </summary>
    public bool GenerateRegister { get; set; }

    public static SettingRules<CityOptions> Rules => new SettingRules<CityOptions>(Section)
        .Between(nameof(Parallelism), o => o.Parallelism, 1, 10_000)
        .That(nameof(Path), o => o.Path, o => !o.LoadOnStart || File.Exists(Resolved(o.Path)),
            $"names a city file that exists (relative to {AppContext.BaseDirectory}) when {nameof(LoadOnStart)} is on");

    /// <summary>The city file's path: relative paths are against the application directory.</summary>
    public static string Resolved(string path) => System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(AppContext.BaseDirectory, path);
}

/// <summary>Endpoints of the embedded silo (section "GridDispatch:Silo").</summary>
public sealed class SiloEndpointOptions
{
    public const string Section = "GridDispatch:Silo";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    public static SettingRules<SiloEndpointOptions> Rules => new SettingRules<SiloEndpointOptions>(Section)
        .Between(nameof(SiloPort), o => o.SiloPort, 1, 65535)
        .Between(nameof(GatewayPort), o => o.GatewayPort, 1, 65535)
        .That(nameof(GatewayPort), o => o.GatewayPort, o => o.GatewayPort != o.SiloPort, "is not the silo port");
}

public static class GridDispatchSiloExtensions
{
    /// <summary>Adds griddispatch.json (engine defaults) underneath every other configuration source.</summary>
    public static IConfigurationBuilder AddGridDispatchDefaults(this IConfigurationBuilder configuration)
    {
        var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = System.IO.Path.Combine(AppContext.BaseDirectory, "griddispatch.json"),
            Optional = true,
        };
        source.ResolveFileProvider();
        configuration.Sources.Insert(0, source);
        return configuration;
    }

    /// <summary>
    /// Database errors cross silos: Orleans serializes only exceptions of the namespaces it lists, so a grain-state
    /// read that failed on one silo reached its caller on another as CodecNotFoundException instead of the cause.
    /// </summary>
    public static void AllowDatabaseErrors(Orleans.Serialization.ExceptionSerializationOptions options) =>
        options.SupportedNamespacePrefixes.Add("Npgsql");

    /// <summary>
    /// In-memory grain state, written with the Orleans serializer as on PostgreSQL: the default JSON serializer keeps
    /// object references, and a state holding one immutable record twice (a KPI set's zero counters) could not be read
    /// back by a grain activated again.
    /// </summary>
    public static ISiloBuilder AddEmbeddedGrainStorage(this ISiloBuilder silo) =>
        silo.AddMemoryGrainStorage(GridDispatchStorage.Name, options => options.Configure<Orleans.Serialization.Serializer>(
            (o, serializer) => o.GrainStorageSerializer = new Orleans.Storage.OrleansGrainStorageSerializer(serializer)));

    /// <summary>
    /// The embedded default (localhost clustering, in-memory storage and reminders) — or, when
    /// <c>ConnectionStrings:GridDispatch</c> is set, a durable silo on PostgreSQL that forms a cluster with every other silo
    /// on the same database.
    /// </summary>
    public static ISiloBuilder UseGridDispatch(this ISiloBuilder silo, IConfiguration configuration)
    {
        var endpoints = SiloEndpointOptions.Rules.Check(configuration.GetSection(SiloEndpointOptions.Section).Get<SiloEndpointOptions>() ?? new SiloEndpointOptions());
        var connectionString = configuration.GetConnectionString("GridDispatch");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            silo.UseLocalhostClustering(endpoints.SiloPort, endpoints.GatewayPort);
            silo.AddEmbeddedGrainStorage();
            silo.UseInMemoryReminderService();
        }
        else
        {
            silo.UseDurableGridDispatch(configuration, connectionString, endpoints);
        }

        // Grain calls carry the caller's trace (W3C trace context) and make spans when a tracer listens.
        silo.AddActivityPropagation();
        if (Telemetry.TelemetrySetup.DashboardOn(configuration))
        {
            silo.AddDashboard(o => o.HideTrace = true);
        }

        return silo.AddGridDispatch(configuration);
    }

    /// <summary>Everything but clustering, storage and reminders: the engine's services and the start-up city load.</summary>
    public static ISiloBuilder AddGridDispatch(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddGridDispatchEngine(configuration);
        silo.AddIncomingGrainCallFilter<StaleStateFilter>();
        silo.AddIncomingGrainCallFilter<Telemetry.DomainTagsFilter>();
        silo.Services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(AllowDatabaseErrors);
        silo.Services.AddOptions<CityOptions>().Bind(configuration.GetSection(CityOptions.Section)).Checked(CityOptions.Rules);
        silo.AddStartupTask<CityBootstrap>();
        silo.AddStartupTask<DeadlineSweepStart>();
        silo.Services.AddHostedService<DeadlineSweepKeeper>();
        silo.Services.AddOptions<SimulationOptions>().Bind(configuration.GetSection(SimulationOptions.Section)).Checked(SimulationOptions.Rules);
        silo.Services.AddHostedService<CitySimulator>();
        return silo;
    }
}

/// <summary>Loads the configured city definition into the cluster when the silo starts (idempotent).</summary>
internal sealed partial class CityBootstrap(IGrainFactory grains, IOptions<CityOptions> options, Microsoft.Extensions.Logging.ILogger<CityBootstrap> logger) : IStartupTask
{
    public async Task Execute(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.LoadOnStart)
        {
            return;
        }

        var path = CityOptions.Resolved(o.Path);
        var city = CityDefinition.Read(path);
        var report = await CityLoader.LoadAsync(grains, city, o.Parallelism, cancellationToken, keepStored: true);
        LogLoaded(city.Code, city.Name, report.Grids, report.Workers, report.Elapsed.TotalMilliseconds, report.Failures.Count);
        if (!report.Succeeded)
        {
            throw new InvalidOperationException($"City {city.Code} loaded with {report.Failures.Count} failures, first: {report.Failures[0]}");
        }

        if (o.GenerateRegister)
        {
            var seeded = await CityLoader.SeedRegistersAsync(grains, city, o.Parallelism, cancellationToken);
            LogSeeded(city.Code, seeded.Grids, seeded.Elapsed.TotalMilliseconds, seeded.Failures.Count);
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 5004, Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "City {Code}: generated household registers for {Grids} grid(s) that had none in {Ms:F0} ms, {Failures} failures")]
    private partial void LogSeeded(string code, int grids, double ms, int failures);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 5001, Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "City {Code} ({Name}) loaded: {Grids} grids, {Workers} workers in {Ms:F0} ms, {Failures} failures")]
    private partial void LogLoaded(string code, string name, int grids, int workers, double ms, int failures);
}
