using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Campaigns;

[GenerateSerializer, Alias("GridDispatch.EpisodeRecord.v1")]
public sealed class EpisodeRecord
{
    [Id(0)] public DateTimeOffset StartedAt { get; set; }
    [Id(1)] public string StartedBy { get; set; } = "";
    [Id(2)] public string Level { get; set; } = "";
    [Id(3)] public string Reason { get; set; } = "";
    [Id(4)] public KpiCounters IncidentsAtStart { get; set; } = KpiCounters.Zero;
    [Id(5)] public List<string> SurgeWorkers { get; set; } = [];
    [Id(6)] public LoadPeaks Peaks { get; set; } = LoadPeaks.None;
}

[GenerateSerializer, Alias("GridDispatch.EmergencyRecord.v1")]
public sealed class EmergencyRecord
{
    [Id(0)] public EpisodeRecord? Current { get; set; }
    [Id(1)] public List<EpisodeReport> Reports { get; set; } = [];
}

/// <summary>
/// Emergency operation at one scope. Calls go down only (to its region, campaigns and workers) and to the city's
/// directory; nothing calls it back, so it may await all of them.
/// </summary>
public sealed partial class EmergencyGrain(
    [PersistentState("emergency", GridDispatchStorage.Name)] IPersistentState<EmergencyRecord> store,
    EngineClock clock,
    CommandAuthority authority,
    IOptions<DispatchOptions> options,
    ILogger<EmergencyGrain> logger) : Grain, IEmergencyGrain
{
    private const int MaxSurgeBatch = 5000;

    private IGrainTimer? _sampler;

    private EmergencyRecord S => store.State;

    private string Code => this.GetPrimaryKeyString();

    private IOperationsDirectoryGrain Directory => GrainFactory.Reference<IOperationsDirectoryGrain>(RegionCode.AncestorAt(Code, RegionLevel.City));

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Current is not null)
        {
            StartSampler();
        }

        return Task.CompletedTask;
    }

    public async Task<EmergencyView> SwitchAsync(ModeCommand command)
    {
        if (!RegionCode.TryGetLevel(Code, out var level) || level is not (RegionLevel.City or RegionLevel.District or RegionLevel.Street))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Mode is set at city, district or street scope", "code");
        }

        authority.Require(command.Actor, command.ActorScope, Code, "switch its operating mode");
        var region = await GrainFactory.GetRegion(Code).SwitchModeAsync(command);
        if (command.Mode == Mode.Emergency)
        {
            if (S.Current is null)
            {
                S.Current = new EpisodeRecord
                {
                    StartedAt = clock.Now, StartedBy = command.Actor, Level = command.Level!, Reason = command.Reason,
                    IncidentsAtStart = region.Summary.Kpi.All,
                };
                await store.WriteStateAsync();
                await Directory.EpisodeChangedAsync(Code, active: true);
                StartSampler();
                LogEpisodeStarted(Code, command.Level!, command.Actor);
            }
            else if (S.Current.Level != command.Level)
            {
                S.Current.Level = command.Level!;
                await store.WriteStateAsync();
            }
        }
        else if (S.Current is not null)
        {
            await StandDownAsync(command, region);
        }

        return View(region);
    }

    public async Task<SurgeResult> SurgeAsync(SurgeRequest request)
    {
        authority.Require(request.Actor, request.ActorScope, request.Scope, "call in surge workers there");
        if (!RegionCode.IsValid(request.Scope) || !request.Scope.StartsWith(Code, StringComparison.Ordinal))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"The scope must be {Code} or a region or grid below it", "scope");
        }

        var episode = S.Current ?? throw new DomainException(DomainErrors.IllegalTransition,
            $"No emergency is active at {Code}: surge workers join grids only in emergency operation");
        ValidateSurge(request);

        var grids = await GridsUnderAsync(request.Scope);
        var placements = Place(request, grids);

        // Never take over a permanent worker's id: a temporary registration would change who they are. All are
        // checked (32 at a time) before any is registered.
        var permanent = new bool[request.Workers.Length];
        await InWindowAsync(Enumerable.Range(0, request.Workers.Length), 32, async i =>
            permanent[i] = await GrainFactory.Reference<IWorkerGrain>(request.Workers[i].Id).ProfileAsync() is { Temporary: false });
        if (Array.IndexOf(permanent, true) is var taken and >= 0)
        {
            throw new DomainException(DomainErrors.Conflict, $"'{request.Workers[taken].Id}' is a permanent worker", $"workers[{taken}].id");
        }

        // Whoever may have been registered is the episode's, even when a later registration fails: stand-down must
        // release them. That is every call that succeeded, and every one that failed other than by a refusal (a call
        // that timed out may have registered its worker all the same).
        var registered = new bool[request.Workers.Length];
        try
        {
            await InWindowAsync(Enumerable.Range(0, request.Workers.Length), 16, async i =>
            {
                var w = request.Workers[i];
                try
                {
                    await GrainFactory.Reference<IWorkerGrain>(w.Id).RegisterAsync(new WorkerProfile(
                        w.Id, w.Name, w.Kind, [placements[i].GridCode], w.Categories.IsDefault ? [] : w.Categories, w.Capacity, SurgeScope: Code));
                    registered[i] = true;
                }
                catch (Exception ex) when (ex is not DomainException)
                {
                    registered[i] = true;
                    throw;
                }
            });
        }
        finally
        {
            // A set for the check: the list holds every surge worker of the episode (580,000 in the field reports'
            // surge), and a list lookup per new worker made a large surge quadratic.
            var known = episode.SurgeWorkers.ToHashSet(StringComparer.Ordinal);
            episode.SurgeWorkers.AddRange(request.Workers.Where((w, i) => registered[i]).Select(w => w.Id).Where(known.Add));
            await store.WriteStateAsync();
        }

        LogSurge(request.Workers.Length, request.Scope, request.Actor);
        return new SurgeResult(Code, [.. placements]);
    }

    public async Task<EmergencyView> GetAsync()
    {
        RegionView? region = null;
        if (RegionCode.IsValid(Code) && RegionCode.LevelOf(Code) != RegionLevel.Grid)
        {
            try
            {
                region = await GrainFactory.GetRegion(Code).GetAsync();
            }
            catch (DomainException ex) when (ex.Code == DomainErrors.NotFound)
            {
                throw new DomainException(DomainErrors.NotFound, $"No region '{Code}'");
            }
        }

        return View(region);
    }

    public async Task<LoadPeaks> SampleAsync()
    {
        if (S.Current is not { } episode)
        {
            return LoadPeaks.None;
        }

        var summary = (await GrainFactory.GetRegion(Code).GetAsync()).Summary;
        var p = episode.Peaks;
        var top = summary.TopLoaded.IsDefaultOrEmpty ? null : summary.TopLoaded[0];
        var scopeUtilisation = summary.Capacity > 0 ? (double)summary.Load / summary.Capacity : 0;
        var higherWorker = top is not null && top.Utilisation > p.MaxWorkerUtilisation;
        var changed = higherWorker || summary.Overloaded > p.MaxOverloaded || scopeUtilisation > p.MaxScopeUtilisation || summary.Load > p.MaxLoad;
        episode.Peaks = new LoadPeaks(
            higherWorker ? top!.Utilisation : p.MaxWorkerUtilisation,
            higherWorker ? top!.WorkerId : p.MaxWorker,
            Math.Max(p.MaxOverloaded, summary.Overloaded),
            Math.Max(p.MaxScopeUtilisation, scopeUtilisation),
            Math.Max(p.MaxLoad, summary.Load),
            p.Samples + 1,
            changed ? clock.Now : p.At);
        if (changed)
        {
            await store.WriteStateAsync();
        }

        return episode.Peaks;
    }

    /// <summary>
    /// Switching back: emergency campaigns of this scope end (unstarted tasks closed with the reason; tasks in progress
    /// may finish), temporary workers are released, and the episode's report is kept. Campaigns under a deeper scope
    /// that still has its own emergency are left to that scope.
    /// </summary>
    private async Task StandDownAsync(ModeCommand command, RegionView region)
    {
        var episode = S.Current!;
        await SampleAsync();
        var reason = $"stand-down of {Code}: {command.Reason}";
        var deeper = (await Directory.ActiveEpisodesAsync()).Where(e => e != Code && e.StartsWith(Code, StringComparison.Ordinal)).ToList();
        var campaigns = (await Directory.CampaignsAsync(Code))
            .Where(c => c.Emergency && c.LaunchedAt >= episode.StartedAt && !deeper.Any(d => c.Scope.StartsWith(d, StringComparison.Ordinal)))
            .ToList();

        var finished = new List<EpisodeCampaign>();
        var closedAtStandDown = 0;
        foreach (var entry in campaigns)
        {
            var campaign = GrainFactory.Reference<ICampaignGrain>(entry.Id);
            var before = await campaign.GetAsync(0);
            if (before.Status == CampaignStatus.Running)
            {
                closedAtStandDown += before.Progress.Pending + before.Progress.Assigned;
                await campaign.EndAsync(command.Actor, reason, command.ActorScope);
            }

            finished.Add(new EpisodeCampaign(entry.Id, entry.Title, entry.Kind, entry.Scope, before.Rounds.Length, before.Progress));
        }

        var released = 0;
        await InWindowAsync(episode.SurgeWorkers.ToList(), 16, async id =>
        {
            try
            {
                await GrainFactory.Reference<IWorkerGrain>(id).ReleaseAsync(reason);
                Interlocked.Increment(ref released);
            }
            catch (Exception ex)
            {
                LogReleaseFailed(ex, id, Code);
            }
        });

        var total = finished.Aggregate(CampaignProgress.Zero, (sum, c) => sum.Add(c.Progress));
        var now = region.Summary.Kpi.All;
        var start = episode.IncidentsAtStart;
        var incidents = new KpiCounters(now.Due - start.Due, now.Closed - start.Closed, now.ClosedOnTime - start.ClosedOnTime,
            now.Deferred - start.Deferred, now.Reworked - start.Reworked, now.Rated - start.Rated, now.RatingSum - start.RatingSum);
        S.Reports.Add(new EpisodeReport(Code, episode.Level, episode.Reason, episode.StartedBy, episode.StartedAt, command.Actor, clock.Now,
            command.Reason, [.. finished], total.Total, total.Done, total.NotReachable, closedAtStandDown, total.Coverage, total.MeanResponseMinutes,
            incidents, episode.SurgeWorkers.Count, released, episode.Peaks, total.Findings));
        S.Current = null;
        await store.WriteStateAsync();
        await Directory.EpisodeChangedAsync(Code, active: false);
        _sampler?.Dispose();
        _sampler = null;
        LogEpisodeEnded(Code, finished.Count, released);
    }

    /// <summary>
    /// Bounded fan-out that stays on the grain's scheduler (Parallel.ForEachAsync would call grains from pool threads,
    /// which Orleans refuses): at most <paramref name="width"/> calls in flight, a sliding window, so one slow call holds
    /// back one slot rather than a whole batch.
    /// </summary>
    private static async Task InWindowAsync<T>(IEnumerable<T> items, int width, Func<T, Task> call)
    {
        var running = new List<Task>(width);
        try
        {
            foreach (var item in items)
            {
                if (running.Count == width)
                {
                    var done = await Task.WhenAny(running);
                    running.Remove(done);
                    await done;
                }

                running.Add(call(item));
            }
        }
        catch
        {
            // The calls still in flight are waited for before the failure is rethrown, so none runs on after the request.
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            throw;
        }

        await Task.WhenAll(running);
    }

    private void StartSampler()
    {
        _sampler ??= this.RegisterGrainTimer(static async (self, _) =>
        {
            try
            {
                await self.SampleAsync();
            }
            catch (Exception ex)
            {
                self.LogSampleFailed(ex, self.Code);
            }
        }, this, new GrainTimerCreationOptions(options.Value.EpisodeSampleInterval, options.Value.EpisodeSampleInterval) { KeepAlive = true });
    }

    private EmergencyView View(RegionView? region) => new(Code, S.Current is not null, S.Current?.Level, S.Current?.StartedAt,
        S.Current?.SurgeWorkers.Count ?? 0, S.Current?.Peaks ?? LoadPeaks.None, [.. S.Reports], region);

    /// <summary>Every grid under the scope with what it needs: difficulty, open work and its present roster.</summary>
    private async Task<List<GridView>> GridsUnderAsync(string scope)
    {
        var codes = await RegionTree.GridsUnderAsync(GrainFactory, scope);
        var views = new GridView?[codes.Count];
        await InWindowAsync(Enumerable.Range(0, codes.Count), 32, async i =>
        {
            try
            {
                views[i] = await GrainFactory.Reference<IGridGrain>(codes[i]).GetAsync();
            }
            catch (DomainException)
            {
                // A child listed but not defined: nobody can be attached there.
            }
        });
        return [.. views.OfType<GridView>()];
    }

    /// <summary>
    /// By home: the grid the worker lives in. By need: each worker to the grid with the largest gap, where
    /// gap = recommended workers (difficulty) + ⌈open incidents / 3⌉ + ⌈unfinished campaign tasks / 10⌉ − workers on duty there.
    /// </summary>
    private static List<SurgePlacement> Place(SurgeRequest request, List<GridView> grids)
    {
        if (grids.Count == 0)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"No grid is defined under {request.Scope}", "scope");
        }

        var known = grids.Select(g => g.Definition.Code).ToHashSet(StringComparer.Ordinal);
        var queue = new PriorityQueue<string, (int, string)>();
        foreach (var g in grids)
        {
            queue.Enqueue(g.Definition.Code, (-Gap(g), g.Definition.Code));
        }

        var placements = new List<SurgePlacement>();
        foreach (var (w, i) in request.Workers.Select((w, i) => (w, i)))
        {
            if (request.Attach == SurgeAttach.ByHome)
            {
                if (w.Home is null || !known.Contains(w.Home))
                {
                    throw new DomainException(DomainErrors.InvalidInput, $"Attaching by home needs the code of a grid under {request.Scope}", $"workers[{i}].home");
                }

                placements.Add(new SurgePlacement(w.Id, w.Home, "lives here"));
                continue;
            }

            queue.TryDequeue(out var grid, out var priority);
            placements.Add(new SurgePlacement(w.Id, grid!, $"largest gap ({-priority.Item1} workers short)"));
            queue.Enqueue(grid!, (priority.Item1 + 1, grid!));
        }

        return placements;
    }

    private static int Gap(GridView g)
    {
        var openTasks = g.Summary.Campaigns?.Values.Sum(p => p.Pending + p.Assigned) ?? 0;
        return g.RecommendedWorkers + (int)Math.Ceiling(g.Summary.OpenIncidents / 3.0) + (int)Math.Ceiling(openTasks / 10.0)
            - g.Roster.Count(e => e.OnDuty);
    }

    private static void ValidateSurge(SurgeRequest request)
    {
        if (!Enum.IsDefined(request.Attach))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Attach is by-need or by-home", "attach");
        }

        if (request.Workers.IsDefaultOrEmpty || request.Workers.Length > MaxSurgeBatch)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Between 1 and {MaxSurgeBatch} workers per request", "workers");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Workers.Length; i++)
        {
            var w = request.Workers[i];
            if (w is null || !Identifiers.IsWorkerId(w.Id))
            {
                throw new DomainException(DomainErrors.InvalidInput, "An id of 1–64 letters, digits, '.', '_' or '-' is required", $"workers[{i}].id");
            }

            if (!seen.Add(w.Id!))
            {
                throw new DomainException(DomainErrors.InvalidInput, $"'{w.Id}' appears twice", $"workers[{i}].id");
            }

            if (string.IsNullOrWhiteSpace(w.Name) || w.Name.Length > 100)
            {
                throw new DomainException(DomainErrors.InvalidInput, "A name of 1–100 characters is required", $"workers[{i}].name");
            }

            if (w.Kind is not (WorkerKind.Volunteer or WorkerKind.Cadre or WorkerKind.PropertyStaff))
            {
                throw new DomainException(DomainErrors.InvalidInput, "Surge workers are volunteers, cadres or property staff", $"workers[{i}].kind");
            }

            if (w.Capacity is < 1 or > 50)
            {
                throw new DomainException(DomainErrors.InvalidInput, "Capacity must be from 1 to 50", $"workers[{i}].capacity");
            }

            if (!w.Categories.IsDefault && !w.Categories.All(Identifiers.IsClassOrCategory))
            {
                throw new DomainException(DomainErrors.InvalidInput, "Categories are 2-digit class or 4-digit category codes", $"workers[{i}].categories");
            }
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Emergency episode started at {Scope}, level {Level}, by {Actor}")]
    private partial void LogEpisodeStarted(string scope, string level, string actor);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Emergency episode at {Scope} ended: {Campaigns} campaign(s) drained, {Released} temporary worker(s) released")]
    private partial void LogEpisodeEnded(string scope, int campaigns, int released);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "{Count} surge worker(s) attached under {Scope} by {Actor}")]
    private partial void LogSurge(int count, string scope, string actor);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Releasing temporary worker {WorkerId} at stand-down of {Scope} failed")]
    private partial void LogReleaseFailed(Exception ex, string workerId, string scope);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Load sample of the episode at {Scope} failed")]
    private partial void LogSampleFailed(Exception ex, string scope);
}
