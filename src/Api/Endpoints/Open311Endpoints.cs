using GridDispatch.Api.Audit;
using System.Globalization;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Options;

namespace GridDispatch.Api.Endpoints;

/// <summary>
/// Open311 GeoReport v2 (JSON) so existing 311 apps can report into the city. Requests are located by address_id (a grid
/// code) or by lat/long (the nearest grid centre of the city definition). Our states map to open/closed, with the
/// detail in status_notes. Output carries no personal data: no reporter, and locations rounded to about 100 m.
/// </summary>
public static class Open311Endpoints
{
    private const int MaxResults = 1000;
    private const int MaxIdsAsked = 50;

    /// <summary>GeoReport field names are snake_case.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };

    private static IResult Out(object value, int status = StatusCodes.Status200OK) => Results.Json(value, Json, statusCode: status);

    /// <summary>Where the Open311 routes live: every refusal under it is answered in Open311's error shape.</summary>
    public const string Prefix = "/open311";

    /// <summary>Open311's error shape, an array of {code, description}, with the field first in the description.</summary>
    public static IResult Error(int status, string? field, string message) =>
        Out(new[] { new Open311Error(status, field is null ? message : $"{field}: {message}") }, status);

    public static RouteGroupBuilder MapOpen311(this IEndpointRouteBuilder app)
    {
        // Anonymous by the GeoReport spec: the service list and request status are public, intake carries an api_key.
        // Refusals thrown here are answered in Open311's error shape by RefusalMiddleware (see Prefix).
        var v2 = app.MapGroup($"{Prefix}/v2").AllowAnonymous();

        v2.MapGet("/services.json", (CategoryCatalog catalog) => Out(catalog.Classes.SelectMany(c => c.Categories.Where(s => s.Reportable).Select(s => new Open311Service(
            s.Code, s.Name, $"{s.NameZh}. Filed when: {s.AcceptCondition}", false, "realtime", s.NameZh, c.Name))).ToList()))
            .Produces<List<Open311Service>>();

        v2.MapGet("/services/{file}", (string file, CategoryCatalog catalog) =>
        {
            var code = JsonFile(file);
            return catalog.TryGet(code, out var category) && category.Reportable
                ? Out(new Open311ServiceDefinition(category.Code, []))
                : throw new DomainException(DomainErrors.NotFound, $"No service '{code}'", "service_code");
        }).Produces<Open311ServiceDefinition>();

        v2.MapPost("/requests.json", PostRequestAsync).DisableAntiforgery().RequireRateLimiting(Http.RateLimits.Intake)
            .Takes<Open311RequestForm>("application/x-www-form-urlencoded").Produces<Open311Receipt[]>(StatusCodes.Status201Created)
            .Produces<Open311Error[]>(StatusCodes.Status403Forbidden).Produces<Open311Error[]>(StatusCodes.Status413PayloadTooLarge);
        v2.MapGet("/requests.json", async (HttpRequest request, IGrainFactory grains, CategoryCatalog catalog, GridLocator locator) =>
            Out(await ListRequestsAsync(request, grains, catalog, locator))).Produces<Open311Request[]>();
        v2.MapGet("/requests/{file}", async (string file, IGrainFactory grains, CategoryCatalog catalog) =>
        {
            // A case about people (a non-public category) is not there for the public.
            var view = await grains.GetGrain<IIncidentGrain>(RequestId(JsonFile(file))).GetAsync();
            return catalog.TryGet(view.Category, out var category) && category.Public
                ? Out(new[] { ToRequest(view, catalog) })
                : throw new DomainException(DomainErrors.NotFound, $"No request '{view.Id}'", "service_request_id");
        }).Produces<Open311Request[]>();
        return v2;
    }

    private static string RequestId(string id) => Identifiers.IsEntityId(id)
        ? id : throw new DomainException(DomainErrors.InvalidInput, "A service_request_id is 1–64 letters, digits, '-' or '_'", "service_request_id");

    private static string JsonFile(string file) => file.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        ? file[..^5] : throw new DomainException(DomainErrors.NotFound, "Only the .json format is served", "format");

    private static async Task<IResult> PostRequestAsync(HttpRequest request, IGrainFactory grains, GridLocator locator, Open311Keys keys, CategoryCatalog catalog)
    {
        var form = await Http.FormBody.ReadAsync(request);
        string? Field(string name) => form.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.ToString() : null;
        var app = keys.AppFor(Field("api_key") ?? throw new DomainException(DomainErrors.InvalidInput, "api_key is required: ask the city for a key for your 311 app", "api_key"))
            ?? throw new DomainException(DomainErrors.NotAllowed, "This api_key is unknown or was revoked", "api_key");

        var serviceCode = Field("service_code") ?? throw new DomainException(DomainErrors.InvalidInput, "service_code is required", "service_code");
        var lat = Number(Field("lat"), "lat");
        var lng = Number(Field("long"), "long");
        GeoPoint? point = lat is { } a && lng is { } b ? new GeoPoint(a, b) : null;
        if ((lat is null) != (lng is null) || point is { IsValid: false })
        {
            throw new DomainException(DomainErrors.InvalidInput, "lat and long go together, within ±90 and ±180", "lat");
        }

        var grid = Field("address_id") is { } addressId
            ? RegionCode.IsValid(addressId, RegionLevel.Grid) ? addressId : throw new DomainException(DomainErrors.InvalidInput, "address_id is a 15-digit grid code", "address_id")
            : point is not null ? locator.Nearest(point) ?? throw new DomainException(DomainErrors.InvalidInput, "That point is not inside the city", "lat")
            : throw new DomainException(DomainErrors.InvalidInput,
                Field("address_string") is null ? "A location is required: lat and long, or address_id" : "address_string alone cannot be located here: send lat and long, or address_id",
                "lat");

        var description = Field("description") ?? "";
        var name = string.Join(' ', new[] { Field("first_name"), Field("last_name") }.Where(n => n is not null));
        // The app's account ids (often an email address) are the app's, not the city's users: none is kept, so no 311
        // account can stand for a signed-in resident, and nothing of the reporter but the erasable contact is stored.
        // Without a reporter id, a supervisor records the resident's rating for them.
        var reporter = new Reporter(null, name.Length > 0 ? name : null, Field("phone"), Field("address_string"));
        catalog.RequireReportable(serviceCode, "service_code");
        var report = new IncidentReport(serviceCode, Severity.Routine, grid, description, $"open311:{app}", null, reporter, point, $"open311:{app}");
        request.HttpContext.AuditRegion(grid);
        var result = await grains.GetGrain<IIncidentGrain>(IncidentIds.New()).ReportAsync(report);
        return Out(new[] { new Open311Receipt(result.Incident.Id, "Thank you: your request was accepted and dispatched to the grid.", Field("account_id")) },
            StatusCodes.Status201Created);
    }

    private static async Task<IReadOnlyList<Open311Request>> ListRequestsAsync(
        HttpRequest request, IGrainFactory grains, CategoryCatalog catalog, GridLocator locator)
    {
        var q = request.Query;
        var ids = q["service_request_id"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ids.Length > MaxIdsAsked)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Ask for at most {MaxIdsAsked} service_request_ids at once", "service_request_id");
        }

        foreach (var id in ids)
        {
            RequestId(id);
        }

        var codes = q["service_code"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var statuses = q["status"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (statuses.Any(s => s is not ("open" or "closed")))
        {
            throw new DomainException(DomainErrors.InvalidInput, "status is open or closed", "status");
        }

        var end = Date(q["end_date"], "end_date") ?? DateTimeOffset.UtcNow;
        var start = Date(q["start_date"], "start_date") ?? end.AddDays(-90);

        IEnumerable<string> candidates;
        if (ids.Length > 0)
        {
            candidates = ids;
        }
        else
        {
            var grids = await RegionTree.GridsUnderAsync(grains, locator.CityCode);
            var found = new List<string>();
            await Parallel.ForEachAsync(grids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (g, _) =>
            {
                var view = await grains.GetGrain<IGridGrain>(g).GetAsync();
                lock (found)
                {
                    found.AddRange(view.OpenIncidents.Concat(view.RecentlyFinished).Where(i => codes.Length == 0 || codes.Contains(i.Category)).Select(i => i.Id));
                }
            });
            candidates = found;
        }

        var views = new List<IncidentView>();
        await Parallel.ForEachAsync(candidates.Distinct().Take(MaxResults * 2), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
        {
            try
            {
                var view = await grains.GetGrain<IIncidentGrain>(id).GetAsync();
                lock (views)
                {
                    views.Add(view);
                }
            }
            catch (DomainException e) when (e.Code == DomainErrors.NotFound)
            {
                // An id asked for that does not exist is simply not listed.
            }
        });

        // The anonymous list shows only categories the city marks public: cases about people never appear on it.
        return [.. views
            .Where(v => catalog.TryGet(v.Category, out var c) && c.Public)
            .Select(v => ToRequest(v, catalog))
            .Where(r => (codes.Length == 0 || codes.Contains(r.ServiceCode)) && (statuses.Length == 0 || statuses.Contains(r.Status)))
            .Where(r => ids.Length > 0 || (r.RequestedDatetime >= start && r.RequestedDatetime <= end))
            .OrderByDescending(r => r.RequestedDatetime)
            .Take(MaxResults)];
    }

    internal static Open311Request ToRequest(IncidentView v, CategoryCatalog catalog)
    {
        // Public output carries no free text that may hold personal data: status notes are built from the state alone
        // (no reasons), and the description only for categories the city marks public.
        var closed = v.State is IncidentState.Closed or IncidentState.Cancelled;
        var known = catalog.TryGet(v.Category, out var category);
        var notes = $"{v.State.ToString().ToLowerInvariant()} at {v.Level.ToString().ToLowerInvariant()} level" +
            (v.Overdue ? ", overdue" : "") + (v.ReworkCount > 0 ? $", reworked {v.ReworkCount}x" : "");
        return new Open311Request(
            v.Id, closed ? "closed" : "open", notes, category?.Name ?? v.Category, v.Category, known && category!.Public ? v.Description : "",
            v.Assignee is { Kind: AssigneeKind.Department } d ? d.Id : category?.Department, null,
            v.ReportedAt, v.UpdatedAt, v.Deadlines.TryGetValue(DeadlineKind.Handle, out var due) ? due : null,
            null, v.GridCode, null,
            v.Location?.Coarse().Latitude, v.Location?.Coarse().Longitude, null);
    }

    private static double? Number(string? text, string field) => text is null ? null
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
        : throw new DomainException(DomainErrors.InvalidInput, $"{field} is not a number", field);

    private static DateTimeOffset? Date(string? text, string field) => string.IsNullOrEmpty(text) ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value
        : throw new DomainException(DomainErrors.InvalidInput, $"{field} is not an ISO 8601 date", field);
}

public sealed record Open311Error(int Code, string Description);

public sealed record Open311Service(string ServiceCode, string ServiceName, string Description, bool Metadata, string Type, string Keywords, string Group);

public sealed record Open311ServiceDefinition(string ServiceCode, IReadOnlyList<object> Attributes);

/// <summary>The form a 311 app posts (GeoReport v2 field names), for the API document: the route reads the form by hand.</summary>
public sealed record Open311RequestForm(string ApiKey, string ServiceCode, double? Lat, double? Long, string? AddressId, string? AddressString,
    string? Description, string? FirstName, string? LastName, string? Phone, string? AccountId);

public sealed record Open311Receipt(string ServiceRequestId, string ServiceNotice, string? AccountId);

public sealed record Open311Request(
    string ServiceRequestId, string Status, string StatusNotes, string ServiceName, string ServiceCode, string Description,
    string? AgencyResponsible, string? ServiceNotice, DateTimeOffset RequestedDatetime, DateTimeOffset UpdatedDatetime,
    DateTimeOffset? ExpectedDatetime, string? Address, string AddressId, string? Zipcode, double? Lat, double? Long, string? MediaUrl);

/// <summary>Finds the grid for a point: the nearest grid centre of the configured city, within 3 km.</summary>
public sealed class GridLocator
{
    private readonly (string Code, double Lat, double Lng)[] _centres;

    public GridLocator(IOptions<CityOptions> options)
    {
        var path = Path.IsPathRooted(options.Value.Path) ? options.Value.Path : Path.Combine(AppContext.BaseDirectory, options.Value.Path);
        var city = File.Exists(path) ? CityDefinition.Read(path) : null;
        City = city;
        CityCode = city?.Code ?? "";
        _centres = city is null ? [] : [.. city.Grids.Where(g => g.Centre is not null).Select(g => (g.Code, g.Latitude!.Value, g.Longitude!.Value))];
    }

    public string CityCode { get; }

    /// <summary>The city definition file as read at start-up (null when there is none), for what it says beyond the grains' state.</summary>
    public CityDefinition? City { get; }

    public string? Nearest(GeoPoint p)
    {
        string? best = null;
        var bestKm = 3.0;
        foreach (var (code, lat, lng) in _centres)
        {
            var dy = (lat - p.Latitude) * 111.32;
            var dx = (lng - p.Longitude) * 111.32 * Math.Cos(p.Latitude * Math.PI / 180);
            var km = Math.Sqrt(dx * dx + dy * dy);
            if (km < bestKm)
            {
                (best, bestKm) = (code, km);
            }
        }

        return best;
    }
}
