using System.Diagnostics;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// Three silos on one PostgreSQL: two separate silo processes (GridDispatch.Silo, killed with SIGKILL) and one in this
/// process that the test talks through. Membership timing is the shipped default (a dead silo declared in about 5 s).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterFailoverTests(PostgresServer postgres, ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["GridDispatch:Dispatch:CriticalAcceptanceTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task Killing_one_of_three_silos_loses_no_accepted_incident_duplicates_no_dispatch_leaves_no_phantom_and_its_deadlines_fire_on_the_survivors()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await SchemaMigrator.MigrateAsync(connection);
        var victimPort = ApiFixture.FreePort();
        using var survivor = SiloProcess.Start(connection, ApiFixture.FreePort(), Settings, SiloProcess.TestConfiguration);
        using var victim = SiloProcess.Start(connection, victimPort, Settings, SiloProcess.TestConfiguration);
        await Eventually.Get(() => SiloProcess.ActiveSilosAsync(connection), n => n == 2, TimeSpan.FromSeconds(60), "two silo processes active");
        await using var host = await DurableHost.StartAsync(connection, Settings);
        await Eventually.Get(() => SiloProcess.ActiveSilosAsync(connection), n => n == 3, TimeSpan.FromSeconds(30), "three silos active");

        // Realistic capacities: 30 load points each, so a worker holds at most 10 critical tasks (weight 3).
        var city = TestCity.Create(communities: 2, gridsPerCommunity: 4);
        var workers = city.Grids.SelectMany(g => new[] { city.AddWorker($"a{g[^3..]}{g[^6..^3]}", [g], capacity: 30), city.AddWorker($"b{g[^3..]}{g[^6..^3]}", [g], capacity: 30) }).ToList();
        await city.LoadAsync(host.Grains);

        // A steady stream of critical incidents (never acknowledged, so each has a pending 10 s deadline); the victim dies
        // mid-stream. Every fifth accepted one is cancelled at once, so closes cross the kill too.
        var accepted = new List<IncidentView>();
        var cancelled = new List<string>();
        var refusedReports = new List<IncidentReport>();
        var stream = Stopwatch.StartNew();
        TimeSpan? killedAt = null;
        var acceptedBeforeKill = 0;
        Task<TimeSpan>? declaredDead = null;
        var slowest = TimeSpan.Zero;
        TimeSpan? lastFailure = null;
        for (var i = 0; stream.Elapsed < TimeSpan.FromSeconds(12); i++)
        {
            if (killedAt is null && stream.Elapsed > TimeSpan.FromSeconds(4))
            {
                victim.Kill();
                killedAt = stream.Elapsed;
                acceptedBeforeKill = accepted.Count;
                declaredDead = WhenDeclaredDead(connection, victimPort, stream);
            }

            var call = Stopwatch.StartNew();
            var report = Reports.Make(city.Grids[i % city.Grids.Count], severity: Severity.Critical);
            try
            {
                var view = await host.Grains.ReportAsync(report);
                accepted.Add(view);
                if (accepted.Count % 5 == 0)
                {
                    await host.Grains.Incident(view).CancelAsync(new ActorCommand("leader", "duplicate of another report"));
                    cancelled.Add(view.Id);
                }
            }
            catch (Exception ex) when (ex is not DomainException)
            {
                refusedReports.Add(report); // not accepted as far as the caller knows: it sends it again with the same key
                lastFailure = stream.Elapsed;
            }

            if (killedAt is not null && call.Elapsed > slowest)
            {
                slowest = call.Elapsed;
            }

            await Task.Delay(75);
        }

        var streamEnd = stream.Elapsed;
        var dead = await declaredDead!;
        output.WriteLine($"killed silo declared dead {(dead - killedAt!.Value).TotalSeconds:F1} s after the kill; slowest report after the kill {slowest.TotalSeconds:F1} s; " +
            $"last failed report {(lastFailure is { } f && f > killedAt ? $"{(f - killedAt.Value).TotalSeconds:F1} s after the kill" : "none after the kill")}");
        output.WriteLine($"{accepted.Count} accepted ({cancelled.Count} cancelled), {refusedReports.Count} refused during the stream; victim killed at {killedAt:g}");
        // The stream went on through the failover: after the kill it accepted at least half as fast as before (a rate, not
        // a count: how many fit in 12 s depends on what else the machine runs; alone on 2 cores it is ~105).
        var rateBefore = acceptedBeforeKill / killedAt.Value.TotalSeconds;
        var rateAfter = (accepted.Count - acceptedBeforeKill) / (streamEnd - killedAt.Value).TotalSeconds;
        Assert.True(accepted.Count > acceptedBeforeKill && rateAfter >= rateBefore / 2,
            $"{acceptedBeforeKill} accepted in the {killedAt.Value.TotalSeconds:F1} s before the kill, {accepted.Count - acceptedBeforeKill} after it");

        // A report refused during the failover, sent again with its key, lands once (whether or not the first try was stored).
        foreach (var report in refusedReports)
        {
            var again = await host.Grains.ReportAsync(report);
            Assert.Equal(IncidentIds.For(report.Source, report.ExternalId), again.Id);
            Assert.Single(again.Timeline, e => e.Kind == IncidentEventKind.Reported);
            accepted.Add(again);
        }

        // Every accepted incident is there and, after its 10 s deadline, was moved on on a survivor. Each has a deadline
        // pending: its 10 s acknowledgement window, or — when its grid could not be reached during the failover — a
        // route retry. Either fires on a survivor. Once it has, the current assignee acknowledges, so nothing moves
        // the task while we look.
        var views = new List<IncidentView>();
        var retried = 0;
        foreach (var incident in accepted.Where(a => !cancelled.Contains(a.Id)))
        {
            var grain = host.Grains.GetGrain<IIncidentGrain>(incident.Id);
            var wasRouted = incident.State == IncidentState.Dispatched;
            retried += wasRouted ? 0 : 1;
            var view = await Eventually.Get(grain.GetAsync,
                v => v.Timeline.Any(e => e.Kind == IncidentEventKind.AcceptanceTimedOut) || (!wasRouted && v.State == IncidentState.Dispatched),
                TimeSpan.FromSeconds(180), $"deadline of {incident.Id} fired");
            for (var attempt = 0; attempt < 5 && view is { State: IncidentState.Dispatched, Acknowledged: false, Assignee.Kind: AssigneeKind.Worker }; attempt++)
            {
                try
                {
                    view = await grain.AcknowledgeAsync(new ActorCommand(view.Assignee.Id));
                }
                catch (DomainException)
                {
                    view = await grain.GetAsync(); // it moved on between our read and the acknowledgement
                }
            }

            views.Add(view);
        }

        // No dispatch is duplicated, and no worker holds a task its incident does not name (a removal lost with the silo
        // is told again): each open task is the incident's, of exactly the worker it is assigned to.
        var holders = await Eventually.Get(() => OpenTasksAsync(host.Grains, workers), tasks => tasks.All(t =>
            views.Find(v => v.Id == t.Key) is { Assignee: { Kind: AssigneeKind.Worker } a } && t.Value.SequenceEqual([a.Id])),
            TimeSpan.FromSeconds(60), "every open task held by its incident's assignee only");
        foreach (var view in views.Where(v => v.Assignee is { Kind: AssigneeKind.Worker }))
        {
            Assert.Equal([view.Assignee!.Id], holders.GetValueOrDefault(view.Id, []));
        }

        // No grid shows open an incident that was cancelled, also when the cancel was committed as the silo died.
        await Eventually.Get(async () =>
        {
            var open = new List<string>();
            foreach (var grid in city.Grids)
            {
                open.AddRange((await host.Grains.GetGrain<IGridGrain>(grid).GetAsync()).OpenIncidents.Select(i => i.Id));
            }

            return open;
        }, open => !open.Intersect(cancelled).Any(), TimeSpan.FromSeconds(60), "no grid lists a cancelled incident as open");

        output.WriteLine($"all {views.Count} deadlines fired on survivors ({retried} of them route retries after an unreachable grid)");
    }

    private static async Task<Dictionary<string, List<string>>> OpenTasksAsync(IGrainFactory grains, List<string> workers)
    {
        var holders = new Dictionary<string, List<string>>();
        foreach (var worker in workers)
        {
            foreach (var task in (await grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Tasks.Where(t => t.Status is TaskStatus.Offered or TaskStatus.Acknowledged or TaskStatus.InProgress))
            {
                (holders.TryGetValue(task.IncidentId, out var list) ? list : holders[task.IncidentId] = []).Add(worker);
            }
        }

        return holders;
    }

    private static async Task<TimeSpan> WhenDeclaredDead(string connection, int port, Stopwatch clock)
    {
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (await SiloProcess.MembershipStatusAsync(connection, port) == 6)
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the killed silo was never declared dead");
    }
}
