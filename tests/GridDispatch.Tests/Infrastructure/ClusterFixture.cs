using System.Collections.Concurrent;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// Domain time for tests: the wall clock plus an offset that tests move forward. Timers still run on real time, so a
/// deadline two seconds ahead fires two seconds later by itself, and a jump of days makes older deadlines due at once.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>Counts grain calls by "Interface.Method", so tests can prove what is batched.</summary>
public sealed class CallCounter : IIncomingGrainCallFilter
{
    public static readonly ConcurrentDictionary<string, int> Calls = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        Calls.AddOrUpdate($"{context.InterfaceName}.{context.MethodName}:{context.TargetId.Key}", 1, (_, n) => n + 1);
        await context.Invoke();
    }

    public static int Count(string interfaceName, string method, string key) =>
        Calls.Where(kv => kv.Key.StartsWith(interfaceName, StringComparison.Ordinal) && kv.Key.EndsWith($".{method}:{key}", StringComparison.Ordinal))
            .Sum(kv => kv.Value);
}

/// <summary>
/// Lets a test stand between a grain and its callers: a hook registered for "Method:key" runs inside the silo before
/// the call (throw to make the call fail as if the target were unreachable, or look at the silo's services).
/// </summary>
public sealed class CallHooks : IIncomingGrainCallFilter
{
    private static readonly ConcurrentDictionary<string, Func<IIncomingGrainCallContext, Task<bool>>> Hooks = new(StringComparer.Ordinal);

    public static IDisposable Before(string method, string key, Func<IIncomingGrainCallContext, Task> hook) =>
        Add(method, key, async call =>
        {
            await hook(call);
            return true;
        });

    /// <summary>The call is answered with <paramref name="result"/> and never reaches the grain.</summary>
    public static IDisposable Answer(string method, string key, object? result) =>
        Add(method, key, call =>
        {
            call.Result = result;
            return Task.FromResult(false);
        });

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (!Hooks.IsEmpty && Hooks.TryGetValue($"{context.MethodName}:{context.TargetId.Key}", out var hook) && !await hook(context))
        {
            return;
        }

        await context.Invoke();
    }

    private static IDisposable Add(string method, string key, Func<IIncomingGrainCallContext, Task<bool>> hook)
    {
        var name = $"{method}:{key}";
        Hooks[name] = hook;
        return new Removal(name);
    }

    private sealed class Removal(string name) : IDisposable
    {
        public void Dispose() => Hooks.TryRemove(name, out _);
    }
}

/// <summary>One in-process test cluster of two silos, shared by every engine test (run one after another).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly ShiftedTimeProvider Time = new();

    /// <summary>Test settings: fast roll-ups and a two-second acknowledgement window for critical incidents.</summary>
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["GridDispatch:Dispatch:RollupInterval"] = "00:00:00.100",
        ["GridDispatch:Dispatch:CriticalAcceptanceTimeout"] = "00:00:02",
        ["GridDispatch:City:LoadOnStart"] = "false",
        ["GridDispatch:Simulation:Enabled"] = "false",
        ["GridDispatch:Dispatch:EpisodeSampleInterval"] = "00:00:00.200",
        ["GridDispatch:Dispatch:ShedInterval"] = "00:00:01",
        ["GridDispatch:Dispatch:TellRetryDelay"] = "00:00:01",
        ["GridDispatch:Dispatch:Emergency:HandleLimits:16"] = "45m",
        ["GridDispatch:Command:Commanders:commander"] = "*",
        ["GridDispatch:Command:Commanders:commander-city"] = "*",
        ["GridDispatch:Command:Commanders:commander-street"] = "*",
        ["GridDispatch:Command:Commanders:commander-elsewhere"] = "9999",
    };

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The cluster's grain storage, for tests that write a grain's row as another activation or a crash would leave it.</summary>
    public Orleans.Storage.IGrainStorage Storage => (Cluster.Primary as InProcessSiloHandle ?? throw new InvalidOperationException("in-process silos only"))
        .SiloHost.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(GridDispatchStorage.Name);

    /// <summary>The cluster's incident store (the timelines every silo of the test cluster shares).</summary>
    public IIncidentStore IncidentStore => (Cluster.Primary as InProcessSiloHandle ?? throw new InvalidOperationException("in-process silos only"))
        .SiloHost.Services.GetRequiredService<IIncidentStore>();

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings).Build();
            silo.Services.AddSingleton(new EngineClock(Time));
            silo.AddIncomingGrainCallFilter<CallCounter>();
            silo.AddIncomingGrainCallFilter<CallHooks>();
            silo.AddEmbeddedGrainStorage();
            silo.UseInMemoryReminderService();
            silo.AddGridDispatch(configuration);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
