using System.Collections.Concurrent;
using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.City;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Api.Endpoints;

/// <summary>Section "GridDispatch:Map": the map needs no tile server; a deployment may name one.</summary>
public sealed class MapOptions
{
    public const string Section = "GridDispatch:Map";

    /// <summary>A raster tile URL template ({z}/{x}/{y}) drawn under the grids, or empty for vector only.</summary>
    public string TileUrl { get; set; } = "";

    /// <summary>Its attribution, shown on the map when tiles are.</summary>
    public string TileAttribution { get; set; } = "";

    /// <summary>
    /// A tile template: an http(s) URL or a path on this host, with {z}, {x} and {y} (Leaflet's others, {s} and {r}, as
    /// the map library fills them in).
    /// </summary>
    public static SettingRules<MapOptions> Rules => new SettingRules<MapOptions>(Section)
        .That(nameof(TileUrl), o => o.TileUrl, o => o.TileUrl.Length == 0 || ValidTemplate(o.TileUrl), "is empty or an http(s) URL or a /path with {z}, {x} and {y}");

    private static bool ValidTemplate(string template)
    {
        if (!template.Contains("{z}", StringComparison.Ordinal) || !template.Contains("{x}", StringComparison.Ordinal) || !template.Contains("{y}", StringComparison.Ordinal))
        {
            return false;
        }

        var filled = System.Text.RegularExpressions.Regex.Replace(template, "\\{[a-z]+\\}", "a");
        return filled.StartsWith('/') && !filled.StartsWith("//", StringComparison.Ordinal)
            ? Uri.TryCreate(filled, UriKind.Relative, out _)
            : Uri.TryCreate(filled, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http";
    }
}

public sealed record MapGrid(string Code, string Name, Colour Colour, int OpenIncidents, int Overdue, IReadOnlyList<double[]> Boundary);

public sealed record MapIncident(string Id, string Category, IncidentState State, bool Overdue, double[] At);

public sealed record MapWorker(string Id, string Name, WorkerStatus Status, double[] At);

public sealed record RegionMap(string Code, IReadOnlyList<MapGrid> Grids, IReadOnlyList<MapIncident> Incidents, IReadOnlyList<MapWorker> Workers,
    string TileUrl, string TileAttribution, bool Truncated);

/// <summary>
/// GET /api/regions/{code}/map: a region's grids as polygons coloured by their state, its open incidents that have a
/// position and its workers who shared one. Polygons come from the city definition (a grid without one is the square
/// cell around its centre, as the generator lays grids out). Bounds: <see cref="MaxGrids"/> grids,
/// <see cref="MaxPoints"/> incidents and as many workers (Truncated says when some were left out). Read by the same
/// rule as the region; an incident's position is shown as precisely as the caller may read it.
/// </summary>
public static class MapEndpoints
{
    public const int MaxGrids = 2000;
    public const int MaxPoints = 500;

    /// <summary>Half the side of a grid's cell where the city drew none (the generator's 0.0045° lattice, about 500 m).</summary>
    public const double CellHalf = 0.00225;

    public static RouteGroupBuilder MapMaps(this RouteGroupBuilder api)
    {
        api.MapGet("/regions/{code}/map", async (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog,
            IOptions<MapOptions> options) =>
        {
            var region = RegionCode.IsValid(code) ? code : throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9, 12 or 15 digits", "code");
            http.AuditRegion(region);
            var caller = Caller.From(user);
            Policy.Require(caller, Act.RegionRead, Target.RegionOf(region), "code");
            return await BuildAsync(region, caller, grains, catalog, options.Value);
        });
        return api;
    }

    private static async Task<RegionMap> BuildAsync(string code, Caller caller, IGrainFactory grains, CategoryCatalog catalog, MapOptions o)
    {
        var codes = await RegionTree.GridsUnderAsync(grains, code);
        var truncated = codes.Count > MaxGrids;
        var views = new ConcurrentBag<GridView>();
        await Parallel.ForEachAsync(codes.Take(MaxGrids), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (g, _) => views.Add(await grains.GetGrain<IGridGrain>(g).GetAsync()));
        var grids = views.OrderBy(v => v.Definition.Code, StringComparer.Ordinal).ToList();

        var shapes = grids.Select(g => (g, Ring: Ring(g.Definition))).Where(x => x.Ring is not null)
            .Select(x => new MapGrid(x.g.Definition.Code, x.g.Definition.Name, x.g.Summary.Colour, x.g.Summary.OpenIncidents, x.g.Summary.Overdue, x.Ring!))
            .ToList();

        var open = grids.SelectMany(g => g.OpenIncidents).ToList();
        var workerIds = grids.SelectMany(g => g.Roster).Where(r => r.HomeUnit.StartsWith(code, StringComparison.Ordinal))
            .Select(r => r.WorkerId).Distinct(StringComparer.Ordinal).ToList();
        truncated |= open.Count > MaxPoints || workerIds.Count > MaxPoints;

        var incidents = new ConcurrentBag<MapIncident>();
        await Parallel.ForEachAsync(open.Take(MaxPoints), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var view = await grains.GetGrain<IIncidentGrain>(i.Id).GetAsync();
            if (view.Location is not null && Policy.Decide(caller, Act.IncidentRead, Target.Of(view, catalog)) is not null
                && Access.Incident(caller, view, catalog).Location is { } at)
            {
                incidents.Add(new MapIncident(view.Id, view.Category, view.State, view.Overdue, [at.Latitude, at.Longitude]));
            }
        });

        var workers = new ConcurrentBag<MapWorker>();
        await Parallel.ForEachAsync(workerIds.Take(MaxPoints), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
        {
            var view = await grains.GetGrain<IWorkerGrain>(id).GetAsync();
            // Where a worker was is shown while they are on duty only: an off-duty worker's last position is their own.
            if (view.Location is { } at && view.Status != WorkerStatus.OffDuty && Policy.Decide(caller, Act.WorkerRead, Target.Of(view)) is not null)
            {
                workers.Add(new MapWorker(id, view.Profile.Name, view.Status, [at.Latitude, at.Longitude]));
            }
        });

        return new RegionMap(code, shapes, [.. incidents.OrderBy(i => i.Id, StringComparer.Ordinal)], [.. workers.OrderBy(w => w.Id, StringComparer.Ordinal)],
            o.TileUrl, o.TileAttribution, truncated);
    }

    private static IReadOnlyList<double[]>? Ring(GridDefinition d) =>
        d.Boundary is { Length: >= 3 } ring ? [.. ring.Select(p => new[] { p.Latitude, p.Longitude })]
        : d.Centre is { } c ? [.. GridCells.Square(c, CellHalf).Select(p => new[] { p.Latitude, p.Longitude })]
        : null;
}
