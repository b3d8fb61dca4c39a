using System.Diagnostics.Metrics;

namespace GridDispatch.Telemetry;

/// <summary>
/// The engine's own instruments on the "GridDispatch" meter, next to Orleans' "Microsoft.Orleans": what the loop did
/// (counted once, when a step is committed), how long intake took to reach a worker, and workers' load. Created through
/// the host's <see cref="IMeterFactory"/>, so each host (and each test host) has its own.
/// </summary>
public sealed class EngineMetrics
{
    public const string MeterName = "GridDispatch";

    /// <summary>Buckets of the intake → dispatch latency, in seconds: from under a second to a working day.</summary>
    private static readonly double[] DispatchBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 8 * 3600];

    private readonly Counter<long> _reported;
    private readonly Counter<long> _dispatched;
    private readonly Counter<long> _escalated;
    private readonly Counter<long> _closed;
    private readonly Histogram<double> _dispatchLatency;
    private readonly Histogram<double> _utilisation;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMeterFactory, string> Hosts = [];

    private static int _hostsMade;

    /// <summary>
    /// The host's "GridDispatch" meter, tagged with the host's number in its process (1, 2, …). Without the tag, meters of
    /// the same name in one process (test hosts, each with its factory) share one OpenTelemetry stream, and disposing one
    /// host's meter stops every other host's (opentelemetry-dotnet#6412). A production process has one host, always
    /// number 1: a restart or a new pod makes no new series (service.instance.id tells the processes apart).
    /// </summary>
    public static Meter Meter(IMeterFactory meters) => meters.Create(new MeterOptions(MeterName)
    {
        Tags = [new KeyValuePair<string, object?>("griddispatch.host",
            Hosts.GetValue(meters, static _ => Interlocked.Increment(ref _hostsMade).ToString(System.Globalization.CultureInfo.InvariantCulture)))],
    });

    public EngineMetrics(IMeterFactory meters)
    {
        var meter = Meter(meters);
        _reported = meter.CreateCounter<long>("griddispatch.incidents.reported", "{incident}", "Incidents taken in, by severity");
        _dispatched = meter.CreateCounter<long>("griddispatch.incidents.dispatched", "{offer}", "Tasks offered to a worker, by the level that dispatched them");
        _escalated = meter.CreateCounter<long>("griddispatch.incidents.escalated", "{escalation}", "Escalations up the tree or to a department, by the level reached");
        _closed = meter.CreateCounter<long>("griddispatch.incidents.closed", "{incident}", "Incidents closed, by whether they were on time");
        _dispatchLatency = meter.CreateHistogram<double>("griddispatch.incident.dispatch.duration", "s", "From intake to the first offer to a worker",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DispatchBuckets });
        _utilisation = meter.CreateHistogram<double>("griddispatch.worker.utilisation", "1",
            "A worker's load over capacity, recorded at each change of load (1 = full)",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.25, 0.5, 0.75, 0.9, 1, 1.25, 1.5, 2] });
    }

    /// <summary>Counts the entries an incident has just committed (<paramref name="from"/> on); one place for the loop's counters.</summary>
    public void Committed(IReadOnlyList<TimelineEntry> timeline, int from, DateTimeOffset reportedAt, Severity severity, bool onTime)
    {
        for (var i = from; i < timeline.Count; i++)
        {
            var entry = timeline[i];
            switch (entry.Kind)
            {
                case IncidentEventKind.Reported:
                    _reported.Add(1, new KeyValuePair<string, object?>("severity", Name(severity)));
                    break;
                case IncidentEventKind.Dispatched or IncidentEventKind.Reassigned:
                    _dispatched.Add(1, new KeyValuePair<string, object?>("level", Name(entry.Level)));
                    if (!FirstOfferBefore(timeline, i))
                    {
                        _dispatchLatency.Record(Math.Max(0, (entry.At - reportedAt).TotalSeconds));
                    }

                    break;
                case IncidentEventKind.Escalated:
                    _escalated.Add(1, new KeyValuePair<string, object?>("level", Name(entry.Level)));
                    break;
                case IncidentEventKind.Closed:
                    _closed.Add(1, new KeyValuePair<string, object?>("on_time", onTime));
                    break;
            }
        }
    }

    public void WorkerLoad(int load, int capacity) => _utilisation.Record(capacity > 0 ? (double)load / capacity : 1);

    private static bool FirstOfferBefore(IReadOnlyList<TimelineEntry> timeline, int index)
    {
        for (var i = 0; i < index; i++)
        {
            if (timeline[i].Kind is IncidentEventKind.Dispatched or IncidentEventKind.Reassigned)
            {
                return true;
            }
        }

        return false;
    }

    private static string Name<T>(T? value) where T : struct, Enum => value is { } v ? Name(v) : "none";

    private static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
