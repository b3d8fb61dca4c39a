using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace GridDispatch.Bench;

/// <summary>
/// A silo dies under load (issue 12's <c>failover</c>): three silos on one PostgreSQL — two GridDispatch.Silo processes
/// and this one, which the reports come through — and a city of 80 grids. Reports arrive open-loop at a fixed rate; a
/// caller whose report fails sends it again with the same key after 500 ms, as the API's clients do. One silo process
/// is killed (SIGKILL) a third of the way in. Reports the seconds until the membership table declares it dead, the
/// seconds until reports are served again (the last report that failed or waited over 1 s finished), latencies before
/// and after the kill, and — once the stream is over and the cluster settled — lost incidents (accepted but not there)
/// and duplicated ones (a second Reported entry, or an open task held by a worker the incident does not name).
/// usage: ConnectionStrings__GridDispatch=... failover [rate=40] [seconds=30]
/// </summary>
public static class FailoverRun
{
    public static async Task RunAsync(string[] args)
    {
        var rate = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
        var connection = Environment.GetEnvironmentVariable("ConnectionStrings__GridDispatch");
        if (string.IsNullOrWhiteSpace(connection))
        {
            Console.Error.WriteLine("failover needs PostgreSQL: set ConnectionStrings__GridDispatch");
            Environment.Exit(2);
        }

        await SchemaMigrator.MigrateAsync(connection);
        var settings = new Dictionary<string, string?>();
        var victimPort = SiloProcess.FreePort();
        using var other = SiloProcess.Start(connection, SiloProcess.FreePort(), settings, "Release");
        using var victim = SiloProcess.Start(connection, victimPort, settings, "Release");
        await WaitAsync(() => SiloProcess.ActiveSilosAsync(connection), n => n == 2, TimeSpan.FromSeconds(60), "two silo processes active");
        var warnings = new WarningCounter();
        using var host = await CityHost.StartAsync("4494", warnings);
        await WaitAsync(() => SiloProcess.ActiveSilosAsync(connection), n => n == 3, TimeSpan.FromSeconds(60), "three silos active");

        var spec = new CitySpec(Code: "4494", Name: "Failover City", Districts: 1, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: 4, WorkersPerGrid: 3);
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var grids = city.Grids.Select(g => g.Code).ToArray();
        await CityLoader.LoadAsync(host.Grains, city);
        Console.WriteLine($"3 silos; {grids.Length} grids, {city.Workers.Count} workers; {rate} reports/s for {seconds} s, one silo killed after {seconds / 3} s");

        var total = rate * seconds;
        var outcomes = new Outcome[total];
        var start = Stopwatch.GetTimestamp();
        var killAt = TimeSpan.FromSeconds(seconds / 3.0);
        TimeSpan? killed = null;
        Task<TimeSpan>? declaredDead = null;
        var loops = new List<Task>(total);
        for (var launched = 0; launched < total;)
        {
            var now = Stopwatch.GetElapsedTime(start);
            if (killed is null && now >= killAt)
            {
                victim.Kill();
                killed = now;
                declaredDead = WhenDeclaredDeadAsync(connection, victimPort, start);
            }

            for (var owed = Math.Min(total, (int)(now.TotalSeconds * rate) + 1); launched < owed; launched++)
            {
                var i = launched;
                var scheduled = TimeSpan.FromSeconds(i / (double)rate);
                loops.Add(Task.Run(async () => outcomes[i] = await ReportUntilAcceptedAsync(host.Grains, grids, i, scheduled, start)));
            }

            await Task.Delay(2);
        }

        await Task.WhenAll(loops);
        var dead = await declaredDead!;
        var killedAt = killed!.Value;
        var after = outcomes.Where(o => o.Accepted && o.Scheduled >= killedAt).ToArray();
        var before = outcomes.Where(o => o.Accepted && o.Scheduled < killedAt).ToArray();
        var troubled = outcomes.Where(o => o.Finished > killedAt && (o.Attempts > 1 || o.Finished - o.Scheduled > TimeSpan.FromSeconds(1))).ToArray();
        var figures = new Dictionary<string, object?>
        {
            ["storage"] = "postgresql",
            ["silos"] = 3,
            ["rate_per_s"] = rate,
            ["reports"] = total,
            ["declared_dead_s"] = Math.Round((dead - killedAt).TotalSeconds, 2),
            ["serve_again_s"] = troubled.Length == 0 ? 0 : Math.Round((troubled.Max(o => o.Finished) - killedAt).TotalSeconds, 2),
            ["retried_reports"] = outcomes.Count(o => o.Attempts > 1),
            ["p50_before_kill_ms"] = Percentile(before, 0.5),
            ["p99_before_kill_ms"] = Percentile(before, 0.99),
            ["p50_after_kill_ms"] = Percentile(after, 0.5),
            ["p99_after_kill_ms"] = Percentile(after, 0.99),
            ["max_after_kill_ms"] = Percentile(after, 1),
        };
        Console.WriteLine($"victim declared dead after {figures["declared_dead_s"]} s; reports served again after {figures["serve_again_s"]} s; {figures["retried_reports"]} reports needed a retry");

        // Loss and duplication, after the survivors have taken over the victim's grains and deadlines.
        await Task.Delay(TimeSpan.FromSeconds(10));
        var lost = new ConcurrentBag<string>();
        var duplicated = new ConcurrentBag<string>();
        var assignees = new ConcurrentDictionary<string, string?>();
        await Parallel.ForEachAsync(outcomes.Where(o => o.Accepted), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (o, _) =>
        {
            try
            {
                var view = await host.Grains.GetGrain<IIncidentGrain>(o.Id).GetAsync();
                if (view.Timeline.Count(e => e.Kind == IncidentEventKind.Reported) != 1)
                {
                    duplicated.Add(o.Id);
                }

                assignees[o.Id] = view.Assignee is { Kind: AssigneeKind.Worker } a ? a.Id : null;
            }
            catch (DomainException ex) when (ex.Code == DomainErrors.NotFound)
            {
                lost.Add(o.Id);
            }
        });
        var holders = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        await Parallel.ForEachAsync(city.Workers, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (w, _) =>
        {
            foreach (var task in (await host.Grains.GetGrain<IWorkerGrain>(w.Id).GetAsync()).Tasks
                .Where(t => t.Status is TaskStatus.Offered or TaskStatus.Acknowledged or TaskStatus.InProgress))
            {
                holders.GetOrAdd(task.IncidentId, _ => []).Add(w.Id);
            }
        });
        var doubleHeld = holders.Where(h => h.Value.Count > 1 || (assignees.TryGetValue(h.Key, out var a) && a is not null && !h.Value.Contains(a))).Select(h => h.Key).ToList();
        figures["accepted"] = outcomes.Count(o => o.Accepted);
        figures["not_accepted"] = outcomes.Count(o => !o.Accepted);
        figures["lost"] = lost.Count;
        figures["duplicated"] = duplicated.Count + doubleHeld.Count;
        figures["duplicated_reported_entries"] = duplicated.Count;
        figures["tasks_held_by_another"] = doubleHeld.Count;
        figures["warnings"] = warnings.Total;
        figures["warnings_by_category"] = warnings.ByCategory.OrderByDescending(kv => kv.Value).Take(8).ToDictionary(kv => kv.Key, kv => kv.Value);
        await BenchReport.WriteAsync("failover", figures);
        other.Dispose();
        Environment.Exit(0);
    }

    /// <param name="Accepted">False when the report was refused or never accepted within 60 s of tries.</param>
    private sealed record Outcome(string Id, TimeSpan Scheduled, TimeSpan Finished, int Attempts, bool Accepted = true);

    /// <summary>
    /// One report, sent again with its key after a failure (500 ms apart, each try given 10 s) until it is accepted or
    /// 60 s have passed; a refusal or a report never accepted is an outcome, not an abort of the run.
    /// </summary>
    private static async Task<Outcome> ReportUntilAcceptedAsync(IGrainFactory grains, string[] grids, int i, TimeSpan scheduled, long start)
    {
        var report = BenchSilo.Report(grids, i, "failover", $"f-{i}");
        var id = IncidentIds.For(report.Source, report.ExternalId);
        var giveUp = Stopwatch.GetElapsedTime(start) + TimeSpan.FromSeconds(60);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await grains.GetGrain<IIncidentGrain>(id).ReportAsync(report).WaitAsync(timeout.Token);
                return new Outcome(id, scheduled, Stopwatch.GetElapsedTime(start), attempt);
            }
            catch (Exception e) when (e is DomainException || Stopwatch.GetElapsedTime(start) > giveUp)
            {
                Console.WriteLine($"  {id} not accepted after {attempt} tries: {e.GetType().Name}");
                return new Outcome(id, scheduled, Stopwatch.GetElapsedTime(start), attempt, Accepted: false);
            }
            catch (Exception)
            {
                await Task.Delay(500);
            }
        }
    }

    private static double Percentile(Outcome[] outcomes, double q)
    {
        if (outcomes.Length == 0)
        {
            return double.NaN;
        }

        var sorted = outcomes.Select(o => (o.Finished - o.Scheduled).TotalMilliseconds).Order().ToArray();
        return Math.Round(BenchReport.Percentile(sorted, q), 1);
    }

    private static async Task<TimeSpan> WhenDeclaredDeadAsync(string connection, int port, long start)
    {
        while (Stopwatch.GetElapsedTime(start) < TimeSpan.FromMinutes(3))
        {
            if (await SiloProcess.MembershipStatusAsync(connection, port) == 6)
            {
                return Stopwatch.GetElapsedTime(start);
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the killed silo was never declared dead");
    }

    private static async Task WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(await read()))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(what);
            }

            await Task.Delay(250);
        }
    }
}
