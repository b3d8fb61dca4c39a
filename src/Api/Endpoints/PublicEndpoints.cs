using System.Collections.Concurrent;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Api.Endpoints;

/// <summary>What the public board (信息公示) shows, section "GridDispatch:Public".</summary>
public sealed class PublicOptions
{
    public const string Section = "GridDispatch:Public";

    /// <summary>What of each grid's responsible workers is published: "name", "kind", "phone" (the city file's phone).</summary>
    public List<string> WorkerFields { get; set; } = ["name", "kind"];

    /// <summary>Category or class codes whose case descriptions are published; for all others only the category shows.</summary>
    public List<string> PublicCategories { get; set; } = [];

    /// <summary>A rate at or above this is green; at or above <see cref="YellowFrom"/> yellow; below it red.</summary>
    public double GreenFrom { get; set; } = 0.9;

    public double YellowFrom { get; set; } = 0.75;

    /// <summary>How long a region's board is kept and may be cached by browsers and proxies.</summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(60);
}

public sealed record PublicRate(double? Closure, double? OnTime, string Colour);

public sealed record PublicRegion(string Code, RegionLevel Level, string Name, PublicRate Rate);

public sealed record PublicWorker(string? Name, string? Kind, string? Phone);

public sealed record PublicGridCard(string Code, string Name, IReadOnlyList<PublicWorker> Workers);

/// <summary>A closed case as the public sees it: no reporter, no place finer than the grid, no words unless its category is public.</summary>
public sealed record PublicCase(string Category, string CategoryName, string Grid, string GridName, DateOnly ReportedOn, DateOnly ClosedOn,
    string Outcome, int? Rating, string? Description);

public sealed record PublicBoard(PublicRegion Region, IReadOnlyList<PublicRegion> Children, IReadOnlyList<PublicGridCard> Grids,
    IReadOnlyList<PublicCase> Closed, DateTimeOffset AsOf);

/// <summary>
/// GET /api/public/regions/{code}: the public board of a region or grid, anonymous and cacheable. Built from the roll-up
/// (rates), the grids' rosters (cards) and their recently finished cases (the newest of each grid, at most
/// <see cref="PublicBoards.CasesRead"/> read, the <see cref="PublicBoards.CasesShown"/> latest closed shown).
/// </summary>
public static class PublicEndpoints
{
    public static RouteGroupBuilder MapPublic(this RouteGroupBuilder api)
    {
        api.MapGet("/public/regions/{code}", async (string code, HttpContext http, PublicBoards boards, IOptions<PublicOptions> options) =>
        {
            var region = RegionCode.IsValid(code) ? code : throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9, 12 or 15 digits", "code");
            var board = await boards.GetAsync(region);
            http.Response.Headers.CacheControl = $"public, max-age={(int)options.Value.CacheFor.TotalSeconds}";
            return board;
        }).AllowAnonymous().RequireRateLimiting(Http.RateLimits.Intake);
        api.MapGet("/public/city", (GridLocator city) => city.CityCode.Length > 0
            ? Results.Ok(new CityName(city.CityCode, city.City?.Name))
            : throw new DomainException(DomainErrors.NotFound, "This deployment has no city definition file", "city")).AllowAnonymous().Produces<CityName>();
        return api;
    }
}

/// <summary>
/// The boards, each kept for <see cref="PublicOptions.CacheFor"/> and built once however many ask at the same moment
/// (anonymous callers cannot make a city's board be built twice at once). Bound: one board per region of the city (an
/// unknown region is a 404 and keeps nothing).
/// </summary>
public sealed class PublicBoards(IGrainFactory grains, CategoryCatalog catalog, EngineClock clock, WorkingCalendar calendar, IOptions<PublicOptions> options,
    GridLocator city)
{
    public const int CasesRead = 300;
    public const int CasesShown = 50;

    private readonly ConcurrentDictionary<string, Lazy<Task<(DateTimeOffset At, PublicBoard Board)>>> _boards = new(StringComparer.Ordinal);

    public async Task<PublicBoard> GetAsync(string code)
    {
        while (true)
        {
            var entry = _boards.GetOrAdd(code, c => new Lazy<Task<(DateTimeOffset, PublicBoard)>>(() => BuildAsync(c)));
            try
            {
                var (at, board) = await entry.Value;
                if (clock.Now - at <= options.Value.CacheFor)
                {
                    return board;
                }
            }
            catch
            {
                _boards.TryRemove(KeyValuePair.Create(code, entry));     // a failed build is not kept
                throw;
            }

            _boards.TryRemove(KeyValuePair.Create(code, entry));     // stale: the next pass builds it again, once
        }
    }

    private async Task<(DateTimeOffset, PublicBoard)> BuildAsync(string code)
    {
        var now = clock.Now;
        return (now, await PublicBoardBuilder.BuildAsync(code, grains, catalog, calendar, options.Value, city, now));
    }
}

/// <summary>One board, read from the grains: rates, cards and the latest closed cases.</summary>
internal static class PublicBoardBuilder
{
    public static async Task<PublicBoard> BuildAsync(string code, IGrainFactory grains, CategoryCatalog catalog, WorkingCalendar calendar, PublicOptions o,
        GridLocator city, DateTimeOffset now)
    {
        PublicRegion Of(UnitSummary s) => new(s.Code, s.Level, s.Name, Rate(s.Kpi.All, o));
        PublicRegion self;
        IReadOnlyList<PublicRegion> children;
        if (RegionCode.LevelOf(code) == RegionLevel.Grid)
        {
            self = Of((await grains.GetGrain<IGridGrain>(code).GetAsync()).Summary);
            children = [];
        }
        else
        {
            var view = await grains.GetRegion(code).GetAsync();
            self = Of(view.Summary) with { Name = view.Definition.Name };
            children = [.. view.Children.Select(Of)];
        }

        var gridCodes = await RegionTree.GridsUnderAsync(grains, code);
        var grids = new ConcurrentBag<GridView>();
        await Parallel.ForEachAsync(gridCodes, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (g, _) => grids.Add(await grains.GetGrain<IGridGrain>(g).GetAsync()));
        var names = grids.ToDictionary(g => g.Definition.Code, g => g.Definition.Name, StringComparer.Ordinal);

        // Cards for a community or a grid (a city's board would list thousands): the grid's own, permanent workers.
        var cards = new List<PublicGridCard>();
        if (RegionCode.LevelOf(code) is RegionLevel.Community or RegionLevel.Grid)
        {
            var phones = (city.City?.Workers ?? []).Where(w => w.Phone is { Length: > 0 }).ToDictionary(w => w.Id, w => w.Phone, StringComparer.Ordinal);
            foreach (var g in grids.OrderBy(g => g.Definition.Code, StringComparer.Ordinal))
            {
                var roster = g.Roster.Where(r => !r.Temporary && r.HomeUnit == g.Definition.Code).ToList();
                var profiles = await Task.WhenAll(roster.Select(r => grains.GetGrain<IWorkerGrain>(r.WorkerId).GetAsync()));
                cards.Add(new PublicGridCard(g.Definition.Code, g.Definition.Name, [.. profiles.Where(p => p.Profile.Department is null).Select(p => new PublicWorker(
                    o.WorkerFields.Contains("name") ? p.Profile.Name : null,
                    o.WorkerFields.Contains("kind") ? p.Profile.Kind.ToString() : null,
                    o.WorkerFields.Contains("phone") ? phones.GetValueOrDefault(p.Profile.Id) : null))]));
            }
        }

        // Each grid's newest first (its list is newest first): as many of each as keeps the reads within the cap.
        var each = Math.Max(5, PublicBoards.CasesRead / Math.Max(1, grids.Count));
        var candidates = grids.SelectMany(g => g.RecentlyFinished.Where(i => i.State == IncidentState.Closed).Take(each)).Take(PublicBoards.CasesRead).ToList();
        var views = new ConcurrentBag<IncidentView>();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) => views.Add(await grains.GetGrain<IIncidentGrain>(i.Id).GetAsync()));
        var closed = views.Select(v => (View: v, Case: Case(v, catalog, calendar, o, names))).Where(c => c.Case is not null)
            .OrderByDescending(c => c.View.Timeline.Last(e => e.Kind == IncidentEventKind.Closed).At).ThenBy(c => c.View.Id, StringComparer.Ordinal)
            .Take(PublicBoards.CasesShown).Select(c => c.Case!).ToList();
        return new PublicBoard(self, children, cards, closed, now);
    }

    /// <summary>Dates only, in the city's time zone: when a case closed to the minute is nobody's business.</summary>
    private static PublicCase? Case(IncidentView v, CategoryCatalog catalog, WorkingCalendar calendar, PublicOptions o, IReadOnlyDictionary<string, string> names)
    {
        var closedAt = v.Timeline.LastOrDefault(e => e.Kind == IncidentEventKind.Closed)?.At;
        if (closedAt is null)
        {
            return null;
        }

        var name = catalog.TryGet(v.Category, out var category) ? $"{category.NameZh} {category.Name}" : v.Category;
        var open = o.PublicCategories.Any(c => v.Category.StartsWith(c, StringComparison.Ordinal));
        return new PublicCase(v.Category, name, v.GridCode, names.GetValueOrDefault(v.GridCode, v.GridCode), calendar.LocalDate(v.ReportedAt), calendar.LocalDate(closedAt.Value),
            v.MissedDeadline ? "closed late" : "closed on time", v.Rating, open ? v.Description : null);
    }

    private static PublicRate Rate(KpiCounters k, PublicOptions o)
    {
        if (k.ClosureRate is null && k.OnTimeRate is null)
        {
            return new PublicRate(null, null, "none");      // nothing due yet: no colour to earn
        }

        var worst = Math.Min(k.ClosureRate ?? 1, k.OnTimeRate ?? 1);
        return new PublicRate(k.ClosureRate, k.OnTimeRate, worst >= o.GreenFrom ? "green" : worst >= o.YellowFrom ? "yellow" : "red");
    }
}

/// <summary>The city this deployment serves (GET /api/public/city).</summary>
public sealed record CityName(string Code, string? Name);
