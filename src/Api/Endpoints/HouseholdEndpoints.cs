using System.Collections.Immutable;
using System.Security.Claims;
using System.Text;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Api.Photos;
using GridDispatch.Register;

namespace GridDispatch.Api.Endpoints;

/// <summary>
/// The household register (issue 13's contract). Every route decides access from the household's or grid's code
/// before a command is sent; the register's personal data is answered only to the grid's workers and leader and the
/// supervisors above them (<see cref="Act.HouseholdRead"/>).
/// </summary>
public static class HouseholdEndpoints
{
    /// <summary>Largest import file read (4 MiB, about 10,000 households with names and phones); larger is a 413.</summary>
    public const int MaxImportBytes = 4 * 1024 * 1024;

    public static RouteGroupBuilder MapHouseholds(this RouteGroupBuilder api)
    {
        api.MapGet("/grids/{code}/households", async (string code, string? colour, string? tag, int? page, int? pageSize, HttpContext http,
            ClaimsPrincipal user, IGrainFactory grains, HouseholdTagCatalog tags) =>
        {
            var grid = Grid(http, user, code, Act.HouseholdRead);
            if (tag is not null && !tags.TryGet(tag, out _))
            {
                throw new DomainException(DomainErrors.InvalidInput, $"'{tag}' is not a household tag of this city", "tag");
            }

            if (pageSize is < 1 or > RegisterGrain.MaxPageSize || page is < 1 or > 100_000)
            {
                throw new DomainException(DomainErrors.InvalidInput, $"page is 1–100,000, pageSize 1–{RegisterGrain.MaxPageSize}",
                    pageSize is < 1 or > RegisterGrain.MaxPageSize ? "pageSize" : "page");
            }

            return await grains.GetGrain<IRegisterGrain>(0).ListAsync(grid, colour is null ? null : ColourOf(colour, "colour"), tag, page ?? 1, pageSize ?? 50);
        });
        api.MapPost("/grids/{code}/households", async (string code, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, HouseholdTagCatalog tags) =>
        {
            var caller = Caller.From(user);
            var grid = Grid(request.HttpContext, user, code, Act.HouseholdRegister);
            var body = await JsonBody.ReadAsync<HouseholdRequest>(request);
            var row = HouseholdCsv.One(body.Building, body.Unit, body.Size, body.Tags, body.Name, body.Phone, tags);
            if (body.People is { } given && (given.Count > 20 || body.Name is not null || body.Phone is not null))
            {
                throw new DomainException(DomainErrors.InvalidInput, "Give up to 20 people, or one name and phone, not both", "people");
            }

            var people = body.People is { } list
                ? [.. list.Select((p, i) => HouseholdCsv.Person(p?.Name, p?.Phone, p?.IdNumber, $"people[{i}]"))]
                : People(row.Name, row.Phone);
            var input = new HouseholdInput(row.Building, row.Unit, row.Size, row.Tags, people);
            var outcome = await grains.GetGrain<IRegisterGrain>(0).ImportAsync(grid, [input], caller.Id, Reason(body.Reason, "registered"));
            var id = HouseholdIds.Household(grid, row.Building, row.Unit);
            return Results.Json(await grains.GetGrain<IHouseholdGrain>(id).GetAsync(), statusCode: outcome.Added > 0 ? 201 : 200);
        }).Takes<HouseholdRequest>().Produces<HouseholdView>(StatusCodes.Status201Created).Produces<HouseholdView>();
        api.MapPost("/grids/{code}/households/import", async (string code, string? reason, HttpRequest request, ClaimsPrincipal user,
            IGrainFactory grains, HouseholdTagCatalog tags) =>
        {
            var caller = Caller.From(user);
            var grid = Grid(request.HttpContext, user, code, Act.HouseholdImport);
            var parsed = HouseholdCsv.Parse(await ReadCsvAsync(request), tags);
            if (!parsed.Ok)
            {
                return Refused(parsed);
            }

            var inputs = parsed.Rows.Select(Input).ToImmutableArray();
            return Results.Ok(await grains.GetGrain<IRegisterGrain>(0).ImportAsync(grid, inputs, caller.Id, Reason(reason, "import")));
        }).Takes<string>("text/csv").Produces<ImportOutcome>();
        api.MapPost("/regions/{code}/households/import", async (string code, string? reason, HttpRequest request, ClaimsPrincipal user,
            IGrainFactory grains, HouseholdTagCatalog tags) =>
        {
            // A region's file: a grid column first; every grid's households written in one transaction, or none.
            var caller = Caller.From(user);
            var region = RegionEndpoints.RegionCodeOf(code);
            request.HttpContext.AuditRegion(region);
            Policy.Require(caller, Act.HouseholdImport, Target.RegionOf(region), "code");
            var parsed = HouseholdCsv.Parse(await ReadCsvAsync(request), tags, region: region);
            if (!parsed.Ok)
            {
                return Refused(parsed);
            }

            var byGrid = parsed.Rows.GroupBy(r => r.Grid!, StringComparer.Ordinal)
                .ToImmutableDictionary(g => g.Key, g => g.Select(Input).ToImmutableArray(), StringComparer.Ordinal);
            try
            {
                return Results.Ok(await grains.GetGrain<IRegisterGrain>(0).ImportRegionAsync(byGrid, caller.Id, Reason(reason, "import")));
            }
            catch (DomainException e) when (e.Code == DomainErrors.NotFound && e.Field is { } grid && byGrid.ContainsKey(grid))
            {
                // A grid the city does not have is the file's fault (nothing was written): named by its first line.
                var line = parsed.Rows.First(r => r.Grid == grid).Line;
                throw new DomainException(DomainErrors.InvalidInput, $"line {line}: grid {grid} is not a grid of this city", $"line {line}: grid");
            }
        }).Takes<string>("text/csv").Produces<ImmutableArray<ImportOutcome>>();
        api.MapGet("/grids/{code}/households/export.csv", async (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var rows = await grains.GetGrain<IRegisterGrain>(0).ExportAsync(Grid(http, user, code, Act.HouseholdRead));
            var text = new StringBuilder("\uFEFFbuilding,unit,size,tags,colour,revisit_due,name,phone\r\n");
            foreach (var r in rows)
            {
                text.AppendJoin(',', [Cell(r.Building), Cell(r.Unit), r.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), Cell(string.Join(';', r.Tags)),
                    r.Colour.ToString().ToLowerInvariant(), r.RevisitDueAt?.ToString("yyyy-MM-dd HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    Cell(r.MaskedName), Cell(r.MaskedPhone)]).Append("\r\n");
            }

            return Results.Text(text.ToString(), "text/csv; charset=utf-8", Encoding.UTF8);
        }).Produces<string>(StatusCodes.Status200OK, "text/csv");
        api.MapGet("/workers/{id}/revisits", async (string id, int? withinHours, ClaimsPrincipal user, IGrainFactory grains, Domain.EngineClock clock) =>
        {
            // The worker's list of households to revisit: every grid they serve, due within the window (a day by default).
            var worker = await grains.GetGrain<IWorkerGrain>(RegionEndpoints.WorkerIdOf(id)).GetAsync();
            Policy.Require(Caller.From(user), Act.WorkerRead, Target.Of(worker));
            if (withinHours is < 0 or > 24 * 31)
            {
                throw new DomainException(DomainErrors.InvalidInput, "withinHours is 0–744", "withinHours");
            }

            var upTo = clock.Now.AddHours(withinHours ?? 24);
            var due = new List<DueRevisit>();
            var caller = Caller.From(user);
            foreach (var grid in worker.Profile.Units.Where(u => RegionCode.IsValid(u, RegionLevel.Grid)
                && Policy.Decide(caller, Act.HouseholdRead, Target.RegionOf(u)) is not null))     // only grids whose register the caller may read
            {
                due.AddRange(await grains.GetGrain<IRegisterGrain>(0).DueRevisitsAsync(grid, upTo, RegisterGrain.MaxPageSize));
            }

            return due.OrderBy(d => d.DueAt).ToList();
        });
        api.MapGet("/grids/{code}/buildings", async (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
            await grains.GetGrain<IRegisterGrain>(0).BuildingsAsync(Grid(http, user, code, Act.HouseholdRead)));
        api.MapGet("/grids/{code}/revisits", async (string code, int? withinHours, HttpContext http, ClaimsPrincipal user, IGrainFactory grains,
            Domain.EngineClock clock) =>
        {
            var grid = Grid(http, user, code, Act.HouseholdRead);
            if (withinHours is < 0 or > 24 * 31)
            {
                throw new DomainException(DomainErrors.InvalidInput, "withinHours is 0–744", "withinHours");
            }

            return await grains.GetGrain<IRegisterGrain>(0).DueRevisitsAsync(grid, clock.Now.AddHours(withinHours ?? 24), RegisterGrain.MaxPageSize);
        });

        api.MapGet("/households/{id}", async (string id, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
            await grains.GetGrain<IHouseholdGrain>(Household(http, user, id, Act.HouseholdRead)).GetAsync());
        api.MapPut("/households/{id}/colour", async (string id, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var household = Household(request.HttpContext, user, id, Act.HouseholdColour);
            var body = await JsonBody.ReadAsync<ColourRequest>(request);
            var colour = ColourOf(body.Colour ?? throw new DomainException(DomainErrors.InvalidInput, "colour is green, yellow or red", "colour"), "colour");
            return await grains.GetGrain<IHouseholdGrain>(household).SetColourAsync(
                new ColourCommand(Caller.From(user).Id, colour, body.Reason ?? throw new DomainException(DomainErrors.InvalidInput, "A reason is required", "reason")));
        }).Takes<ColourRequest>();
        api.MapPost("/households/{id}/visits", async (string id, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, Domain.CategoryCatalog catalog,
            IPhotoStore photos) =>
        {
            var household = Household(request.HttpContext, user, id, Act.HouseholdVisit);
            var body = await JsonBody.ReadAsync<VisitRequest>(request);
            var findings = Findings(body.Findings, catalog);
            var key = IdempotencyKey.Of(request);
            var kind = body.Kind ?? throw new DomainException(DomainErrors.InvalidInput, "kind is phone or in-person", "kind");
            var outcome = body.Outcome ?? throw new DomainException(DomainErrors.InvalidInput, "outcome is ok, problem or not-reachable", "outcome");
            var caller = Caller.From(user);
            var (view, incidents) = await PhotoEndpoints.WithPhotosAsync(photos, caller, body.Photos, PhotoSubjects.Of(PhotoSubjects.Household, household),
                shots => grains.VisitAsync(household, new VisitCommand(caller.Id, kind, outcome, body.Note, key.Length > 0 ? $"{caller.Id}:{key}" : null, shots), findings));
            return Results.Json(new VisitRecorded(view, incidents), statusCode: 201);
        }).Takes<VisitRequest>().Produces<VisitRecorded>(StatusCodes.Status201Created);
        api.MapPost("/households/{id}/people/{personId}/erase", async (string id, string personId, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var household = Household(request.HttpContext, user, id, Act.HouseholdErase);
            var body = request.ContentLength is 0 or null && !request.HasJsonContentType() ? new EraseRequest(null) : await JsonBody.ReadAsync<EraseRequest>(request);
            return await grains.GetGrain<IHouseholdGrain>(household).ErasePersonAsync(personId, Caller.From(user).Id, Reason(body.Reason, ""));
        }).Takes<EraseRequest>();

        api.MapGet("/regions/{code}/households/summary", async (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            // A region and its children, or a grid on its own (the grid's workers and leader see their grid's counts).
            var region = RegionCode.IsValid(code) ? code : throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9, 12 or 15 digits", "code");
            http.AuditRegion(region);
            Policy.Require(Caller.From(user), Act.HouseholdSummary, Target.RegionOf(region), "code");
            if (RegionCode.LevelOf(region) == RegionLevel.Grid)
            {
                var grid = (await grains.GetGrain<IGridGrain>(region).GetAsync()).Summary;
                return new RegisterSummary(region, RegionLevel.Grid, grid.Name, grid.Households ?? HouseholdCounts.Zero, [], grid.AsOf);
            }

            var view = await grains.GetRegion(region).GetAsync();
            return new RegisterSummary(region, view.Level, view.Definition.Name, view.Summary.Households ?? HouseholdCounts.Zero,
                [.. view.Children.Select(c => new RegisterSummaryChild(c.Code, c.Level, c.Name, c.Households ?? HouseholdCounts.Zero))], view.Summary.AsOf);
        });
        return api;
    }

    /// <summary>A visit's findings, each of a category the catalogue has and reporters may use, checked before the visit is stored.</summary>
    private static ImmutableArray<Finding> Findings(IReadOnlyList<FindingDto>? given, Domain.CategoryCatalog catalog)
    {
        var findings = (given ?? []).Select((f, i) => new Finding(
            f?.Category ?? throw new DomainException(DomainErrors.InvalidInput, "A finding needs a category", $"findings[{i}].category"),
            f.Severity ?? Severity.Routine, f.Description ?? "")).ToImmutableArray();
        findings = CampaignTasks.CheckFindings(findings);
        for (var i = 0; i < findings.Length; i++)
        {
            if (!catalog.TryGet(findings[i].Category, out _))
            {
                throw new DomainException(DomainErrors.InvalidInput, $"No category {findings[i].Category} in the catalogue", $"findings[{i}].category");
            }

            catalog.RequireReportable(findings[i].Category, $"findings[{i}].category");
        }

        return findings;
    }

    private static HouseholdInput Input(HouseholdRow r) => new(r.Building, r.Unit, r.Size, r.Tags, People(r.Name, r.Phone));

    /// <summary>400 for a refused file: how many errors, the first as the field, every one (up to 100) by line and column.</summary>
    private static IResult Refused(HouseholdImport parsed)
    {
        var first = parsed.Errors[0];
        return Results.Problem(statusCode: 400, title: DomainErrors.InvalidInput,
            detail: $"{parsed.ErrorCount} error(s) in the file; nothing was imported. First: line {first.Line}{(first.Field is null ? "" : $", {first.Field}")}: {first.Message}",
            extensions: new Dictionary<string, object?>
            {
                ["field"] = first.Field is null ? $"line {first.Line}" : $"line {first.Line}: {first.Field}",
                ["errorCount"] = parsed.ErrorCount,
                ["errors"] = parsed.Errors.Select(e => new { e.Line, e.Field, e.Message }),
            });
    }

    /// <summary>A CSV cell, quoted when it holds a comma, quote or line break; a leading = + - @ is prefixed so a spreadsheet never runs it.</summary>
    private static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        var safe = value[0] is '=' or '+' or '-' or '@' ? "'" + value : value;
        return safe.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{safe.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : safe;
    }

    private static string Grid(HttpContext http, ClaimsPrincipal user, string code, Act act)
    {
        var grid = RegionEndpoints.GridCodeOf(code);
        http.AuditRegion(grid);
        Policy.Require(Caller.From(user), act, Target.RegionOf(grid), "code");
        return grid;
    }

    /// <summary>The household's grid is part of its id, so access is decided before anything is read.</summary>
    internal static string Household(HttpContext http, ClaimsPrincipal user, string id, Act act)
    {
        var grid = HouseholdIds.IsHousehold(id) ? HouseholdIds.GridOf(id)!
            : throw new DomainException(DomainErrors.InvalidInput, "A household id is its 15-digit grid code, '-h' and 10 hex digits", "id");
        http.AuditRegion(grid);
        Policy.Require(Caller.From(user), act, new Target($"household {id}", Region: grid), "id");
        return id;
    }

    private static Colour ColourOf(string text, string field) => text switch
    {
        "green" => Colour.Green,
        "yellow" => Colour.Yellow,
        "red" => Colour.Red,
        _ => throw new DomainException(DomainErrors.InvalidInput, $"'{text}' is not a colour: green, yellow or red", field),
    };

    private static ImmutableArray<PersonInput> People(string? name, string? phone) =>
        name is null && phone is null ? [] : [new PersonInput(name, phone)];

    private static string Reason(string? given, string fallback)
    {
        if (given is { Length: > 200 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The reason is longer than 200 characters", "reason");
        }

        return string.IsNullOrWhiteSpace(given) ? fallback : given.Trim();
    }

    private static async Task<string> ReadCsvAsync(HttpRequest request)
    {
        var type = request.ContentType ?? "";
        if (!type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Send the file with Content-Type: text/csv", "body");
        }

        var bytes = await JsonBody.ReadLimitedAsync(request, MaxImportBytes);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new DomainException(DomainErrors.InvalidInput, "The file is not UTF-8 text", "body");
        }
    }
}

/// <summary>POST /api/grids/{code}/households: one household, as a line of the import file states it.</summary>
public sealed record HouseholdRequest(string? Building, string? Unit, int? Size, IReadOnlyList<string>? Tags, string? Name, string? Phone, string? Reason,
    IReadOnlyList<PersonDto>? People = null);

/// <summary>A person of a household: name, phone, resident identity number (personal data).</summary>
public sealed record PersonDto(string? Name, string? Phone, string? IdNumber);

/// <summary>PUT /api/households/{id}/colour.</summary>
public sealed record ColourRequest(string? Colour, string? Reason);

/// <summary>POST /api/households/{id}/visits.</summary>
public sealed record VisitRequest(VisitKind? Kind, VisitOutcome? Outcome, string? Note, IReadOnlyList<FindingDto>? Findings, IReadOnlyList<string>? Photos = null);

public sealed record EraseRequest(string? Reason);

/// <summary>GET /api/regions/{code}/households/summary: the region's register counts and each child's.</summary>
public sealed record RegisterSummary(string Code, RegionLevel Level, string Name, HouseholdCounts Counts, ImmutableArray<RegisterSummaryChild> Children, DateTimeOffset AsOf);

public sealed record RegisterSummaryChild(string Code, RegionLevel Level, string Name, HouseholdCounts Counts);
