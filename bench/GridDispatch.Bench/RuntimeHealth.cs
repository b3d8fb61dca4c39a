using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Bench;

/// <summary>
/// GC pauses as the runtime reports them: from the start of suspending the managed threads (GCSuspendEEBegin, event 9)
/// to the end of restarting them (GCRestartEEEnd, event 3), so every pause counts, not only the last GC of each kind;
/// the GCStart (event 1) within a pause names the generation it collected.
/// </summary>
public sealed class GcPauseMeter : EventListener
{
    private readonly object _gate = new();
    private DateTime? _suspendedAt;
    private int _depth = -1;
    private readonly double[] _maxByGeneration = new double[3];
    private double _maxMs;
    private double _totalMs;
    private int _pauses;

    public double MaxPauseMs
    {
        get { lock (_gate) { return _maxMs; } }
    }

    public double TotalPauseMs
    {
        get { lock (_gate) { return _totalMs; } }
    }

    /// <summary>The longest pause of a GC of generation 0, 1 and 2 (a pause that ran no GC of its own counts as 0).</summary>
    public IReadOnlyDictionary<string, double> MaxByGeneration
    {
        get { lock (_gate) { return new Dictionary<string, double> { ["gen0"] = Math.Round(_maxByGeneration[0], 1), ["gen1"] = Math.Round(_maxByGeneration[1], 1), ["gen2"] = Math.Round(_maxByGeneration[2], 1) }; } }
    }

    public int Pauses
    {
        get { lock (_gate) { return _pauses; } }
    }

    public void Reset()
    {
        lock (_gate)
        {
            (_maxMs, _totalMs, _pauses) = (0, 0, 0);
            Array.Clear(_maxByGeneration);
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1);     // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_gate)
        {
            if (e.EventId == 9)
            {
                (_suspendedAt, _depth) = (e.TimeStamp, -1);
            }
            else if (e.EventId == 1 && e.Payload is { Count: > 1 } payload && payload[1] is uint depth)
            {
                _depth = (int)Math.Min(depth, 2);     // GCStart: its Depth is the generation collected
            }
            else if (e.EventId == 3 && _suspendedAt is { } at)
            {
                var ms = (e.TimeStamp - at).TotalMilliseconds;
                (_maxMs, _totalMs, _pauses, _suspendedAt) = (Math.Max(_maxMs, ms), _totalMs + ms, _pauses + 1, null);
                if (_depth >= 0)
                {
                    _maxByGeneration[_depth] = Math.Max(_maxByGeneration[_depth], ms);
                }
            }
        }
    }
}

/// <summary>Counts warnings and errors by category (thread-pool stalls, late timers, membership health all log as warnings).</summary>
public sealed class WarningCounter : ILoggerProvider
{
    private readonly ConcurrentDictionary<string, int> _byCategory = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> ByCategory => _byCategory;

    public int Total => _byCategory.Values.Sum();

    public void Reset() => _byCategory.Clear();

    public ILogger CreateLogger(string categoryName) => new Counting(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Counting(WarningCounter owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._byCategory.AddOrUpdate(category, 1, (_, n) => n + 1);
            }
        }
    }
}
