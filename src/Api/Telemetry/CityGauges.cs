using System.Diagnostics.Metrics;
using GridDispatch.Api.Endpoints;

namespace GridDispatch.Api.Telemetry;

/// <summary>
/// The city's live figures as gauges, from its region's roll-up read every <c>GridDispatch:Telemetry:CityEvery</c> (15 s; one grain call): open
/// incidents by colour (red = past a deadline, yellow = in time), grids by the colour of their tile, workers (all,
/// overloaded, surge) with their summed load and capacity, and grids in emergency operation. Every API host reports the
/// same city-wide values: aggregate them with max, not sum.
/// </summary>
public sealed partial class CityGauges : BackgroundService
{
    private readonly IGrainFactory _grains;
    private readonly GridLocator _city;
    private readonly ILogger<CityGauges> _logger;
    private readonly TimeSpan _every;
    private volatile UnitSummary? _summary;

    public CityGauges(IGrainFactory grains, GridLocator city, IMeterFactory meters, Microsoft.Extensions.Options.IOptions<Silo.Telemetry.TelemetryOptions> options,
        ILogger<CityGauges> logger)
    {
        (_grains, _city, _logger, _every) = (grains, city, logger, options.Value.CityEvery);
        var meter = GridDispatch.Telemetry.EngineMetrics.Meter(meters);
        meter.CreateObservableGauge("griddispatch.incidents.open", () => Read(s => [Measure(s.Overdue, "colour", "red"), Measure(s.OpenIncidents - s.Overdue, "colour", "yellow")]),
            "{incident}", "Open incidents of the city: red past a deadline, yellow in time");
        meter.CreateObservableGauge("griddispatch.grids", () => Read(s => [Measure(s.Green, "colour", "green"), Measure(s.Yellow, "colour", "yellow"), Measure(s.Red, "colour", "red")]),
            "{grid}", "Grids by the colour of their tile");
        meter.CreateObservableGauge("griddispatch.workers", () => Read(s => [Measure(s.Workers, "group", "all"), Measure(s.Overloaded, "group", "overloaded"),
            Measure(s.SurgeWorkers, "group", "surge")]), "{worker}", "Workers of the city: all, overloaded, and surge (temporary) ones");
        meter.CreateObservableGauge("griddispatch.workers.load", () => Read(s => [new Measurement<int>(s.Load)]),
            "{task}", "Summed load of the city's workers (weighted open tasks); over griddispatch.workers.capacity it is the utilisation");
        meter.CreateObservableGauge("griddispatch.workers.capacity", () => Read(s => [new Measurement<int>(s.Capacity)]),
            "{task}", "Summed capacity of the city's workers");
        meter.CreateObservableGauge("griddispatch.grids.emergency", () => Read(s => [new Measurement<int>(s.EmergencyGrids)]),
            "{grid}", "Grids in emergency operation");
    }

    /// <summary>The measurements of the last summary read; none before the first.</summary>
    private IEnumerable<Measurement<int>> Read(Func<UnitSummary, Measurement<int>[]> measure) => _summary is { } summary ? measure(summary) : [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_city.CityCode.Length == 0)
        {
            return;     // no city definition: nothing to report
        }

        using var timer = new PeriodicTimer(_every);
        do
        {
            try
            {
                _summary = (await _grains.GetRegion(_city.CityCode).GetAsync().WaitAsync(TimeSpan.FromSeconds(10), stoppingToken)).Summary;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogReadFailed(ex, _city.CityCode);     // the gauges keep the last figures; the next tick tries again
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static Measurement<int> Measure(int value, string key, string tag) => new(value, new KeyValuePair<string, object?>(key, tag));

    [LoggerMessage(EventId = 7301, Level = LogLevel.Warning, Message = "The city gauges could not read region {Code}")]
    private partial void LogReadFailed(Exception ex, string code);
}
