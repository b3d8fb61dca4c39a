using System.Diagnostics.Metrics;

namespace GridDispatch.Bench;

/// <summary>
/// Listens to the incident store's own instruments (griddispatch.incidentstore.*) so the bench can say where an
/// append's time goes: how many appends share a transaction, how long a commit takes, how long an append waits.
/// </summary>
public sealed class StoreMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<double> _batchSizes = [];
    private readonly List<double> _commitMs = [];
    private readonly List<double> _appendMs = [];

    public StoreMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "griddispatch.incidentstore.batch_size" or "griddispatch.incidentstore.commit.duration" or "griddispatch.incidentstore.append.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => Record(instrument, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
        _listener.Start();
    }

    /// <summary>Medians since the last call, then forgets: (appends per commit, commit ms, append ms, commits).</summary>
    public (double BatchSize, double CommitMs, double AppendMs, int Commits) TakeMedians()
    {
        lock (_gate)
        {
            static double Median(List<double> xs) => xs.Count == 0 ? 0 : xs.Order().ElementAt(xs.Count / 2);
            var result = (Median(_batchSizes), Median(_commitMs), Median(_appendMs), _batchSizes.Count);
            _batchSizes.Clear();
            _commitMs.Clear();
            _appendMs.Clear();
            return result;
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value)
    {
        lock (_gate)
        {
            (instrument.Name switch
            {
                "griddispatch.incidentstore.batch_size" => _batchSizes,
                "griddispatch.incidentstore.commit.duration" => _commitMs,
                _ => _appendMs,
            }).Add(instrument.Name == "griddispatch.incidentstore.batch_size" ? value : value * 1000);
        }
    }
}
