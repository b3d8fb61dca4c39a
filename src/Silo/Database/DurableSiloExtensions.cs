using System.Net;
using GridDispatch.Domain;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Membership timing (section "GridDispatch:Membership"). Unset, Orleans' own defaults hold (a probe times out after
/// 5 s, 3 missed probes and 2 votes declare a silo dead): in production a GC pause or a slow network must not get a
/// live silo voted out. Tests and deploy/local-cluster.sh set <see cref="Fast"/>: a killed silo is declared dead in
/// about a second on loopback.
/// </summary>
public sealed class MembershipTimingOptions
{
    public const string Section = "GridDispatch:Membership";

    /// <summary>The timings of tests and the local cluster: probe timeout 1 s, 2 missed probes, 1 vote.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Fast = new Dictionary<string, string?>
    {
        [$"{Section}:ProbeTimeout"] = "00:00:01",
        [$"{Section}:NumMissedProbesLimit"] = "2",
        [$"{Section}:NumVotesForDeathDeclaration"] = "1",
        [$"{Section}:TableRefreshTimeout"] = "00:00:02",
        [$"{Section}:IAmAliveTablePublishTimeout"] = "00:00:10",
    };

    public TimeSpan? ProbeTimeout { get; set; }

    public int? NumMissedProbesLimit { get; set; }

    public int? NumVotesForDeathDeclaration { get; set; }

    public TimeSpan? TableRefreshTimeout { get; set; }

    public TimeSpan? IAmAliveTablePublishTimeout { get; set; }

    /// <summary>Unset is Orleans' own value; a set one must be one Orleans can work with.</summary>
    public static SettingRules<MembershipTimingOptions> Rules => new SettingRules<MembershipTimingOptions>(Section)
        .That(nameof(ProbeTimeout), o => o.ProbeTimeout, o => o.ProbeTimeout is null || o.ProbeTimeout >= TimeSpan.FromMilliseconds(100), "is at least 00:00:00.1")
        .That(nameof(NumMissedProbesLimit), o => o.NumMissedProbesLimit, o => o.NumMissedProbesLimit is null or >= 1, "is at least 1")
        .That(nameof(NumVotesForDeathDeclaration), o => o.NumVotesForDeathDeclaration, o => o.NumVotesForDeathDeclaration is null or >= 1, "is at least 1")
        .That(nameof(TableRefreshTimeout), o => o.TableRefreshTimeout, o => o.TableRefreshTimeout is null || o.TableRefreshTimeout >= TimeSpan.FromMilliseconds(100), "is at least 00:00:00.1")
        .That(nameof(IAmAliveTablePublishTimeout), o => o.IAmAliveTablePublishTimeout,
            o => o.IAmAliveTablePublishTimeout is null || o.IAmAliveTablePublishTimeout >= TimeSpan.FromSeconds(1), "is at least 00:00:01");
}

public static class DurableSiloExtensions
{
    /// <summary>Cluster id and service id of every GridDispatch silo (section "GridDispatch:Cluster").</summary>
    public const string DefaultClusterId = "griddispatch";

    /// <summary>The ADO.NET provider's own name; grains use <see cref="GridDispatchStorage.Name"/>, its bounded front.</summary>
    public const string AdoNetStorageName = GridDispatchStorage.Name + "-adonet";

    public static ISiloBuilder UseDurableGridDispatch(this ISiloBuilder silo, IConfiguration configuration, string connectionString, SiloEndpointOptions endpoints)
    {
        connectionString = ConnectionTuning.Apply(connectionString);
        var database = DatabaseOptions.Rules.Check(configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions());
        database.ConnectionString = connectionString;
        silo.Services.AddSingleton(database);
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SchemaMigrationParticipant>();
        silo.Services.AddSingleton(EventLogOptions.Rules.Check(configuration.GetSection(EventLogOptions.Section).Get<EventLogOptions>() ?? new EventLogOptions()));
        silo.Services.AddMetrics();
        silo.Services.AddSingleton<PostgresIncidentEventLog>();
        silo.Services.AddSingleton<IIncidentEventSink>(sp => sp.GetRequiredService<PostgresIncidentEventLog>());
        silo.Services.AddSingleton<IEventLogHealth>(sp => sp.GetRequiredService<PostgresIncidentStore>());
        silo.Services.AddSingleton<IPersonalDataStore, PostgresPersonalDataStore>();
        silo.Services.AddSingleton<Register.IHouseholdStore, PostgresHouseholdStore>();
        silo.Services.AddSingleton<ILegacyIncidentRows, PostgresLegacyIncidentRows>();

        // The incident store (group commit on incident_events). It runs with the silo's storage stage: started before
        // grains activate, stopped (queued appends committed) after they are gone. /health/ready reads its health. The
        // old event log stays only to hand legacy incidents' timelines (written before the store) to incident_events.
        silo.Services.AddSingleton(IncidentStoreOptions.Rules.Check(configuration.GetSection(IncidentStoreOptions.Section).Get<IncidentStoreOptions>() ?? new IncidentStoreOptions()));
        silo.Services.AddSingleton<PostgresIncidentStore>();
        silo.Services.AddSingleton<IIncidentStore>(sp => sp.GetRequiredService<PostgresIncidentStore>());
        silo.Services.AddSingleton<IChangeFeed, PostgresChangeFeed>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PostgresIncidentStore>());
        silo.Services.AddHostedService(sp => sp.GetRequiredService<PostgresIncidentEventLog>());

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = configuration["GridDispatch:Cluster:ClusterId"] ?? DefaultClusterId;
            o.ServiceId = configuration["GridDispatch:Cluster:ServiceId"] ?? DefaultClusterId;
        });

        if (configuration.GetValue<bool>("GridDispatch:Kubernetes"))
        {
            // In a pod: the pod's IP and name come from the Kubernetes downward API; pods that are gone are removed
            // from membership by the hosting package.
            silo.ConfigureEndpoints(endpoints.SiloPort, endpoints.GatewayPort, listenOnAnyHostAddress: true);
            silo.UseKubernetesHosting();
        }
        else
        {
            // Bind explicitly: the default advertises the machine's outward address.
            var advertised = IPAddress.Parse(configuration["GridDispatch:Silo:AdvertisedIP"] ?? "127.0.0.1");
            silo.ConfigureEndpoints(advertised, endpoints.SiloPort, endpoints.GatewayPort, listenOnAnyHostAddress: false);
        }

        var timing = MembershipTimingOptions.Rules.Check(configuration.GetSection(MembershipTimingOptions.Section).Get<MembershipTimingOptions>() ?? new MembershipTimingOptions());
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = timing.ProbeTimeout ?? o.ProbeTimeout;
            o.NumMissedProbesLimit = timing.NumMissedProbesLimit ?? o.NumMissedProbesLimit;
            o.NumVotesForDeathDeclaration = timing.NumVotesForDeathDeclaration ?? o.NumVotesForDeathDeclaration;
            o.TableRefreshTimeout = timing.TableRefreshTimeout ?? o.TableRefreshTimeout;
            o.IAmAliveTablePublishTimeout = timing.IAmAliveTablePublishTimeout ?? o.IAmAliveTablePublishTimeout;
        });

        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });

        // State is written with the Orleans serializer: fields by [Id], types by [Alias], so renaming a class or its
        // assembly keeps old rows readable, and adding a field with a new id is backward compatible. (The default JSON
        // serializer stores .NET type names.)
        // Grains read in batches and write in group commits on the provider's rows; they clear through the provider
        // behind BoundedGrainStorage, which keeps the pool from being asked for a connection per grain.
        silo.AddAdoNetGrainStorage(AdoNetStorageName, options => options.Configure<Serializer>((o, serializer) =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        silo.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<GrainStateWriter>(sp, database,
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClusterOptions>>().Value.ServiceId));
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<GrainStateWriter>());
        silo.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<GrainStateReader>(sp, database,
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClusterOptions>>().Value.ServiceId));
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<GrainStateReader>());
        silo.Services.AddKeyedSingleton<IGrainStorage>(GridDispatchStorage.Name, (sp, _) => new GroupCommitGrainStorage(
            new BoundedGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>(AdoNetStorageName), database.StateOperationsInFlight),
            sp.GetRequiredService<GrainStateReader>(),
            sp.GetRequiredService<GrainStateWriter>(),
            new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()),
            sp.GetRequiredService<Orleans.Serialization.Serializers.IActivatorProvider>()));

        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });

        return silo;
    }
}
