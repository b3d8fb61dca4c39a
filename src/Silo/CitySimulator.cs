using GridDispatch.City;
using GridDispatch.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Silo;

/// <summary>The built-in simulated city (section "GridDispatch:Simulation").</summary>
public sealed class SimulationOptions
{
    public const string Section = "GridDispatch:Simulation";

    /// <summary>
    /// Report incidents and play the workers, supervisors and residents of the city file named in GridDispatch:City:Path.
    /// Unset, only in the Development environment (<c>dotnet run</c>): a production host never makes up incidents unless told to.
    /// </summary>
    public bool? Enabled { get; set; }

    public double IncidentsPerSecond { get; set; } = 2;

    /// <summary>Range of the pause between two steps of one simulated incident.</summary>
    public TimeSpan MinStep { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxStep { get; set; } = TimeSpan.FromSeconds(20);

    public int Seed { get; set; } = 1;

    /// <summary>Campaign tasks (buildings, households) the simulated workers start or finish per second.</summary>
    public double CampaignStepsPerSecond { get; set; } = 4;

    public static SettingRules<SimulationOptions> Rules => new SettingRules<SimulationOptions>(Section)
        .Between(nameof(IncidentsPerSecond), o => o.IncidentsPerSecond, 0, 10_000)
        .Between(nameof(CampaignStepsPerSecond), o => o.CampaignStepsPerSecond, 0, 10_000)
        .AtLeast(nameof(MinStep), o => o.MinStep, TimeSpan.Zero)
        .That(nameof(MaxStep), o => o.MaxStep, o => o.MaxStep >= o.MinStep, "is at least MinStep");
}

/// <summary>
/// Keeps the embedded default alive: residents report incidents into random grids, workers acknowledge, start and
/// resolve them (now and then declining), supervisors verify or send back, residents rate. It goes through the same
/// grain commands as any client, so what it shows is the real engine at work.
/// </summary>
internal sealed partial class CitySimulator(
    IGrainFactory grains,
    IOptions<SimulationOptions> simulation,
    IOptions<CityOptions> cityOptions,
    CategoryCatalog catalog,
    IHostApplicationLifetime lifetime,
    IHostEnvironment environment,
    ILogger<CitySimulator> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private readonly SimulationOptions _o = simulation.Value;
    private readonly Dictionary<string, DateTimeOffset> _open = new(StringComparer.Ordinal);
    private long _reported;
    private long _closed;
    private long _refused;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!(_o.Enabled ?? environment.IsDevelopment()) || _o.IncidentsPerSecond <= 0)
        {
            return;
        }

        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        var path = Path.IsPathRooted(cityOptions.Value.Path) ? cityOptions.Value.Path : Path.Combine(AppContext.BaseDirectory, cityOptions.Value.Path);
        var city = CityDefinition.Read(path);
        var grids = city.Grids.Select(g => g.Code).ToArray();
        var categories = catalog.All.Select(c => c.Code).ToArray();
        var random = new Random(_o.Seed);
        var credit = 0.0;
        var sweepCredit = 0.0;
        var lastLog = DateTimeOffset.UtcNow;
        using var timer = new PeriodicTimer(Tick);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            credit += _o.IncidentsPerSecond * Tick.TotalSeconds;
            for (; credit >= 1; credit--)
            {
                await ReportAsync(random, grids[random.Next(grids.Length)], categories[random.Next(categories.Length)]);
            }

            sweepCredit += _o.CampaignStepsPerSecond * Tick.TotalSeconds;
            if (sweepCredit >= 1)
            {
                sweepCredit = await CampaignStepsAsync(random, city.Code, (int)sweepCredit) > 0 ? sweepCredit % 1 : 0;
            }

            var now = DateTimeOffset.UtcNow;
            foreach (var id in _open.Where(kv => kv.Value <= now).Select(kv => kv.Key).ToList())
            {
                await StepAsync(random, id);
            }

            if (now - lastLog > TimeSpan.FromSeconds(30))
            {
                lastLog = now;
                LogProgress(_reported, _closed, _open.Count, _refused);
            }
        }
    }

    private async Task ReportAsync(Random random, string grid, string category)
    {
        var roll = random.NextDouble();
        var severity = roll < 0.03 ? Severity.Critical : roll < 0.15 ? Severity.Urgent : Severity.Routine;
        var resident = $"resident-{random.Next(1, 5000)}";
        var report = new IncidentReport(category, severity, grid, $"Simulated report of {category}", "simulator",
            Guid.NewGuid().ToString("N"), new Reporter(resident, null, null, null), null, resident);
        try
        {
            var result = await grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId)).ReportAsync(report);
            _reported++;
            Schedule(random, result.Incident.Id);
        }
        catch (Exception ex) when (ex is DomainException or TimeoutException)
        {
            _refused++;
        }
    }

    /// <summary>Plays whoever acts next on the incident.</summary>
    private async Task StepAsync(Random random, string id)
    {
        var incident = grains.GetGrain<IIncidentGrain>(id);
        try
        {
            var view = await incident.GetAsync();
            var actor = view.Assignee?.Kind == AssigneeKind.Worker ? view.Assignee.Id : $"officer-of-{view.Assignee?.Id ?? "command"}";
            var department = view.Assignee?.Kind == AssigneeKind.Department ? view.Assignee.Id : null;
            switch (view.State)
            {
                case IncidentState.Dispatched when random.NextDouble() < 0.05:
                    await incident.DeclineAsync(new ActorCommand(actor, "busy with another case", department));
                    break;
                case IncidentState.Dispatched:
                    await incident.StartAsync(new ActorCommand(actor, null, department));
                    break;
                case IncidentState.InProgress:
                    await incident.ResolveAsync(new ActorCommand(actor, "handled on site", department));
                    break;
                case IncidentState.Resolved:
                    await (random.NextDouble() < 0.1
                        ? incident.ReworkAsync(new ActorCommand("supervisor", "not fixed on inspection"))
                        : incident.VerifyAsync(new ActorCommand("supervisor", "checked")));
                    break;
                case IncidentState.Verified:
                    await (random.NextDouble() < 0.7
                        ? incident.RateAsync(view.Reporter?.Id is { } reporter
                            ? new RateCommand(reporter, random.Next(3, 6))
                            : new RateCommand("supervisor", random.Next(3, 6), "by phone", OnBehalfOfReporter: true))
                        : incident.CloseAsync(new ActorCommand("supervisor", "archived without rating")));
                    break;
                case IncidentState.Deferred:
                    await incident.ResumeAsync(new ActorCommand("leader", "resumed"));
                    break;
                case IncidentState.Accepted when view.Level == RegionLevel.City && view.Assignee is null:
                    await incident.CancelAsync(new ActorCommand("commander", "handled offline by the command centre"));
                    break;
                case IncidentState.Closed or IncidentState.Cancelled:
                    _closed++;
                    _open.Remove(id);
                    return;
            }
        }
        catch (Exception ex) when (ex is DomainException or TimeoutException)
        {
            _refused++;
        }

        Schedule(random, id);
    }

    /// <summary>
    /// Plays the workers of running campaigns: an assigned building or household is started, one in progress is finished
    /// (now and then nobody is reached, or something is found that becomes an incident). Returns the steps taken.
    /// </summary>
    private async Task<int> CampaignStepsAsync(Random random, string cityCode, int steps)
    {
        try
        {
            var running = (await grains.GetGrain<IOperationsDirectoryGrain>(cityCode).CampaignsAsync(cityCode))
                .Where(c => c.Status == CampaignStatus.Running).ToList();
            if (running.Count == 0)
            {
                return 0;
            }

            var campaign = await grains.GetGrain<ICampaignGrain>(running[random.Next(running.Count)].Id).GetAsync(50);
            var open = campaign.Accountability.Where(u => u.WorkerId is not null && u.Status is SweepTaskStatus.Assigned or SweepTaskStatus.InProgress).ToList();
            var taken = 0;
            foreach (var task in open.OrderBy(_ => random.Next()).Take(steps))
            {
                try
                {
                    if (task.Status == SweepTaskStatus.Assigned)
                    {
                        await grains.GridOf(task.TaskId).StartSweepTaskAsync(task.TaskId, task.WorkerId!);
                    }
                    else
                    {
                        var reached = random.NextDouble() > 0.08;
                        var findings = random.NextDouble() < 0.05
                            ? [new Finding("0101", Severity.Routine, $"Found on the sweep of {task.Target}: rubbish piled in the stairwell")]
                            : System.Collections.Immutable.ImmutableArray<Finding>.Empty;
                        await grains.FinishTaskAsync(task.TaskId, new SweepResult(task.WorkerId!, reached, reached ? null : "nobody answered", findings));
                    }

                    taken++;
                }
                catch (DomainException)
                {
                    _refused++;     // moved to another worker or closed meanwhile
                }
            }

            return taken;
        }
        catch (Exception ex) when (ex is DomainException or TimeoutException)
        {
            _refused++;
            return 0;
        }
    }

    private void Schedule(Random random, string id) =>
        _open[id] = DateTimeOffset.UtcNow + _o.MinStep + (_o.MaxStep - _o.MinStep) * random.NextDouble();

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information,
        Message = "Simulation: {Reported} incidents reported, {Closed} finished, {Open} open, {Refused} steps refused (races with deadlines)")]
    private partial void LogProgress(long reported, long closed, int open, long refused);
}
