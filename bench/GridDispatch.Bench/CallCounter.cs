using System.Collections.Concurrent;

namespace GridDispatch.Bench;

/// <summary>
/// Grain calls received by the silo, by interface and method: what one incident costs in messages, measured rather
/// than estimated. Counting is one dictionary increment per call.
/// </summary>
public sealed class CallCounter : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        _calls.AddOrUpdate($"{context.InterfaceName}.{context.MethodName}", 1, static (_, n) => n + 1);
        await context.Invoke();
    }

    public Dictionary<string, long> Snapshot() => new(_calls, StringComparer.Ordinal);

    /// <summary>Calls per incident between two snapshots, largest first, only the GridDispatch grains'.</summary>
    public static IReadOnlyList<(string Call, double PerIncident)> Between(Dictionary<string, long> before, Dictionary<string, long> after, int incidents) =>
        [.. after.Select(kv => (Call: kv.Key, PerIncident: (kv.Value - before.GetValueOrDefault(kv.Key)) / (double)incidents))
            .Where(c => c.PerIncident > 0 && c.Call.StartsWith("GridDispatch", StringComparison.Ordinal))
            .OrderByDescending(c => c.PerIncident)];
}
