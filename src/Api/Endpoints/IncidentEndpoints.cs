using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Api.Photos;
using GridDispatch.Domain;

namespace GridDispatch.Api.Endpoints;

public static class IncidentEndpoints
{
    private const int MaxPageSize = 200;

    public static RouteGroupBuilder MapIncidents(this RouteGroupBuilder api)
    {
        api.MapPost("/incidents", ReportAsync).RequireRateLimiting(RateLimits.Intake)
            .Takes<ReportIncidentRequest>().Produces<IncidentView>(StatusCodes.Status201Created).Produces<IncidentView>()
            .WithSummary("Report an incident (idempotent on source + externalId, or the Idempotency-Key header)");
        api.MapGet("/incidents/{id}", async (string id, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog) =>
        {
            var view = await grains.GetGrain<IIncidentGrain>(RequireId(id)).GetAsync();
            http.AuditRegion(view.GridCode);    // a refused read is filed where its target is, for that region's administrators
            return Access.Incident(Caller.From(user), view, catalog);
        });
        api.MapGet("/incidents", ListAsync);
        api.MapGet("/me/reports", async (ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog) =>
        {
            // The caller's own reports, newest first, each as they may read it (a resident: whole, their own).
            var caller = Caller.From(user);
            Policy.Require(caller, Act.OwnReports, Target.Nothing);
            var ids = await grains.GetGrain<IReporterGrain>(caller.Id).ListAsync();
            var views = await Task.WhenAll(ids.Select(id => grains.GetGrain<IIncidentGrain>(id).GetAsync()));
            return views.Where(v => Policy.Decide(caller, Act.IncidentRead, Target.Of(v, catalog)) is not null)
                .Select(v => Access.Incident(caller, v, catalog)).ToList();
        });
        api.MapPost("/incidents/{id}/{action}", ActAsync).Takes<IncidentActionRequest>().Produces<IncidentView>()
            .WithSummary("A step of the incident loop")
            .WithDescription($"action is one of: {string.Join(", ", Actions)}. The answer is the incident as the caller may now read it; "
                + "when the step took it out of their sight, only its id, state and version.");
        return api;
    }

    /// <summary>Intake. The incident's id comes from (source, external id); an Idempotency-Key header stands in for a missing external id.</summary>
    private static async Task<IResult> ReportAsync(HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog, IPhotoStore photos,
        GridLocator locator)
    {
        var caller = Caller.From(user);
        var body = await JsonBody.ReadAsync<ReportIncidentRequest>(request);
        if (body.GridCode is null && body.Location is { } at && new GeoPoint(at.Latitude, at.Longitude) is { IsValid: true } point)
        {
            // A resident's phone knows where it is, not which grid that is: the grid whose centre is nearest.
            body = body with { GridCode = locator.Nearest(point)
                ?? throw new DomainException(DomainErrors.InvalidInput, "No grid of this city lies within 3 km of this location: give the grid code", "gridCode") };
        }

        var grid = body.GridCode is { } code && RegionCode.IsValid(code, RegionLevel.Grid)
            ? code : throw new DomainException(DomainErrors.InvalidInput, "gridCode is a 15-digit grid code (or give a location in the city)", "gridCode");
        request.HttpContext.AuditRegion(grid);
        var decision = Policy.Require(caller, Act.IncidentReport, Target.RegionOf(grid), "gridCode");
        if (decision.Grant.Role == CallerRole.Resident)
        {
            // A resident reports as themself: the reporter is the token's subject.
            if (body.Reporter?.Id is { Length: > 0 } named && named != caller.Id)
            {
                throw new DomainException(DomainErrors.NotAllowed, $"You report as {caller.Id}, not as {named}", "reporter.id");
            }

            body = body with { Reporter = (body.Reporter ?? new ReporterDto(null, null, null, null)) with { Id = caller.Id } };
        }

        body = body with { Actor = caller.Actor(body.Actor), Source = SourceOf(caller, body.Source) };
        var key = IdempotencyKey.Of(request);

        var report = ToReport(body, string.IsNullOrEmpty(body.ExternalId) && key.Length > 0 ? key : body.ExternalId);
        catalog.RequireReportable(report.Category, "category");
        var id = IncidentIds.For(report.Source, report.ExternalId);
        var result = await PhotoEndpoints.WithPhotosAsync(photos, caller, body.Photos, PhotoSubjects.Of(PhotoSubjects.Incident, id), async shots =>
        {
            var reported = await grains.GetGrain<IIncidentGrain>(id).ReportAsync(report with { Photos = shots });
            return reported.SameRequest ? reported : throw new DomainException(DomainErrors.Conflict,
                $"Incident {reported.Incident.Id} was already reported under this source and key with different content", "Idempotency-Key");
        });

        if (decision.Grant.Role == CallerRole.Resident)
        {
            await grains.GetGrain<IReporterGrain>(caller.Id).AddAsync(result.Incident.Id);     // "my reports", on every phone
        }

        var location = $"/api/incidents/{result.Incident.Id}";
        var shown = Access.AfterCommand(caller, result.Incident, catalog);
        return result.Created ? Results.Created(location, shown) : Results.Ok(shown);
    }

    internal static IncidentReport ToReport(ReportIncidentRequest body, string? externalId)
    {
        if (body.Severity is not { } severity)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Severity is required: routine, urgent or critical", "severity");
        }

        if (body.Location is { } l && !new GeoPoint(l.Latitude, l.Longitude).IsValid)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Latitude must be within ±90 and longitude within ±180", "location");
        }

        var reporter = body.Reporter is { } r ? new Reporter(Clip(r.Id, "reporter.id"), Clip(r.Name, "reporter.name"), Clip(r.Phone, "reporter.phone"), Clip(r.Address, "reporter.address")) : null;
        return new IncidentReport(
            body.Category ?? "", severity, body.GridCode ?? "", body.Description ?? "", string.IsNullOrWhiteSpace(body.Source) ? "api" : body.Source,
            string.IsNullOrEmpty(externalId) ? null : externalId, reporter,
            body.Location is { } p ? new GeoPoint(p.Latitude, p.Longitude) : null,
            string.IsNullOrWhiteSpace(body.Actor) ? reporter?.Id ?? "api" : body.Actor);
    }

    /// <summary>
    /// The source namespace is the caller's: an integration's token fixes its source; anyone else's label (default
    /// "api") is bound to their subject ("app@resident-7"), so no client can pre-claim another channel's incident ids.
    /// </summary>
    internal static string SourceOf(Caller caller, string? named)
    {
        if (caller.Source is { } bound)
        {
            return string.IsNullOrEmpty(named) || named == bound
                ? bound : throw new DomainException(DomainErrors.NotAllowed, $"This token reports as source '{bound}' only", "source");
        }

        var label = string.IsNullOrEmpty(named) ? "api" : named;
        return label.Length <= 32 && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? $"{label}@{caller.Id}"
            : throw new DomainException(DomainErrors.InvalidInput, "source is a label of 1–32 letters, digits, '-', '_' or '.'", "source");
    }

    private static string? Clip(string? value, string field) => value is { Length: > 200 }
        ? throw new DomainException(DomainErrors.InvalidInput, $"'{field}' is longer than 200 characters", field)
        : value;

    private static async Task<IResult> ActAsync(string id, string action, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog,
        IPhotoStore photos)
    {
        var caller = Caller.From(user);
        var act = ActOf(action);
        var body = await JsonBody.ReadAsync<IncidentActionRequest>(request);
        var actor = caller.Actor(body.Actor);
        if (act == Act.IncidentRate && body.Stars is null)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Stars (1–5) are required to rate", "stars");
        }

        // Read, decide, then act: nothing is sent to the incident before the policy has let the caller in.
        var incident = grains.GetGrain<IIncidentGrain>(RequireId(id));
        var current = await incident.GetAsync();
        request.HttpContext.AuditRegion(current.GridCode);
        var key = IdempotencyKey.Of(request) is { Length: > 0 } given ? $"{caller.Id}:{given}" : null;
        if (key is not null && current.Timeline.FirstOrDefault(e => e.Key == key && e.Actor == actor) is { } made)
        {
            if (!StepKinds.TryGetValue(act, out var kind) || made.Kind != kind)
            {
                throw new DomainException(DomainErrors.Conflict, $"This Idempotency-Key was used for another step ({made.Kind})", IdempotencyKey.Header);
            }

            // Made already (a phone's queue sending again after a lost answer): answered with the incident as it is now,
            // even when the step took it out of the caller's hands (a decline, a hand-back). Nothing is sent.
            return Results.Ok(Access.AfterCommand(caller, current, catalog));
        }

        var decision = Policy.Require(caller, act, Target.Of(current, catalog));
        if (body.Photos is { Count: > 0 } && act is not (Act.IncidentAcknowledge or Act.IncidentDecline or Act.IncidentStart or Act.IncidentResolve or Act.IncidentHandBack
            or Act.IncidentVerify or Act.IncidentRework or Act.IncidentClose or Act.IncidentCancel))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"'{action}' takes no photos", "photos");
        }

        var view = await PhotoEndpoints.WithPhotosAsync(photos, caller, body.Photos, PhotoSubjects.Of(PhotoSubjects.Incident, current.Id),
            shots => SendAsync(act, incident, current, decision, body, actor, caller, key, shots));
        if (act == Act.IncidentErase && current.Timeline.FirstOrDefault(e => e.Kind == IncidentEventKind.Reported)?.Photos is { Count: > 0 } theirs)
        {
            await photos.DeleteAsync(theirs.Ids);     // the reporter's photos are their personal data too
        }

        return Results.Ok(Access.AfterCommand(caller, view, catalog));
    }

    private static async Task<IncidentView> SendAsync(Act act, IIncidentGrain incident, IncidentView current, Decision decision, IncidentActionRequest body,
        string actor, Caller caller, string? key, PhotoList? shots)
    {
        var command = new ActorCommand(actor, body.Reason, caller.Role == CallerRole.Department ? caller.Scope : null, shots, key);
        return act switch
        {
            Act.IncidentAccept => await incident.AcceptAsync(command),
            Act.IncidentAssign => await incident.AssignAsync(new AssignCommand(actor, body.WorkerId ?? "", body.Reason, current.LevelCode)),
            Act.IncidentAcknowledge => await incident.AcknowledgeAsync(command),
            Act.IncidentDecline => await incident.DeclineAsync(command),
            Act.IncidentStart => await incident.StartAsync(command),
            Act.IncidentResolve => await incident.ResolveAsync(command),
            Act.IncidentHandBack => await incident.HandBackAsync(command),
            Act.IncidentVerify => await incident.VerifyAsync(command),
            Act.IncidentRework => await incident.ReworkAsync(command),
            Act.IncidentRate => await incident.RateAsync(new RateCommand(actor, body.Stars!.Value, body.Reason,
                OnBehalfOfReporter: decision.Grant.Relation != Relation.Reporter, Key: key)),
            Act.IncidentClose => await incident.CloseAsync(command),
            Act.IncidentCancel => await incident.CancelAsync(command),
            Act.IncidentDefer => await incident.DeferAsync(new DeferCommand(actor, body.Reason ?? "", body.Until)),
            Act.IncidentResume => await incident.ResumeAsync(command),
            Act.IncidentEscalate => await incident.EscalateAsync(command),
            Act.IncidentErase => await incident.ErasePersonalDataAsync(command),
            _ => throw new InvalidOperationException($"{act} is not an incident action"),
        };
    }

    /// <summary>The steps that keep their Idempotency-Key on the entry they make, and that entry's kind.</summary>
    private static readonly IReadOnlyDictionary<Act, IncidentEventKind> StepKinds = new Dictionary<Act, IncidentEventKind>
    {
        [Act.IncidentAcknowledge] = IncidentEventKind.TaskAcknowledged, [Act.IncidentDecline] = IncidentEventKind.TaskDeclined,
        [Act.IncidentStart] = IncidentEventKind.WorkStarted, [Act.IncidentResolve] = IncidentEventKind.Resolved,
        [Act.IncidentHandBack] = IncidentEventKind.HandedBack, [Act.IncidentVerify] = IncidentEventKind.Verified,
        [Act.IncidentRework] = IncidentEventKind.ReturnedForRework, [Act.IncidentClose] = IncidentEventKind.Closed,
        [Act.IncidentCancel] = IncidentEventKind.Cancelled, [Act.IncidentRate] = IncidentEventKind.Rated,
    };

    /// <summary>The route's action names and the policy's acts they stand for.</summary>
    public static readonly IReadOnlyDictionary<string, Act> ActionActs = new Dictionary<string, Act>(StringComparer.Ordinal)
    {
        ["accept"] = Act.IncidentAccept, ["assign"] = Act.IncidentAssign, ["acknowledge"] = Act.IncidentAcknowledge,
        ["decline"] = Act.IncidentDecline, ["start"] = Act.IncidentStart, ["resolve"] = Act.IncidentResolve,
        ["hand-back"] = Act.IncidentHandBack, ["verify"] = Act.IncidentVerify, ["rework"] = Act.IncidentRework,
        ["rate"] = Act.IncidentRate, ["close"] = Act.IncidentClose, ["cancel"] = Act.IncidentCancel, ["defer"] = Act.IncidentDefer,
        ["resume"] = Act.IncidentResume, ["escalate"] = Act.IncidentEscalate, ["erase-personal-data"] = Act.IncidentErase,
    };

    private static Act ActOf(string action) => ActionActs.TryGetValue(action, out var act)
        ? act : throw new DomainException(DomainErrors.InvalidInput, $"Unknown action '{action}'; one of {string.Join(", ", Actions)}", "action");

    public static readonly string[] Actions = [.. ActionActs.Keys];

    /// <summary>Open and recently finished incidents of a grid or of every grid under a region, filtered by state, in id order (stable pages).</summary>
    private static async Task<PageOf<IncidentSummary>> ListAsync(ClaimsPrincipal user, IGrainFactory grains, string? grid, string? region, string? state,
        string? category, int? page, int? pageSize)
    {
        var size = pageSize ?? 50;
        if (size is < 1 or > MaxPageSize)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"pageSize must be from 1 to {MaxPageSize}", "pageSize");
        }

        var number = page ?? 1;
        if (number < 1)
        {
            throw new DomainException(DomainErrors.InvalidInput, "page starts at 1", "page");
        }

        IncidentState? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            wanted = Enum.TryParse<IncidentState>(state, ignoreCase: true, out var s) && Enum.IsDefined(s)
                ? s : throw new DomainException(DomainErrors.InvalidInput, $"Unknown state '{state}'", "state");
        }

        // category=1504,1505: those categories only (a class's two digits take the class).
        var categories = category is null ? null : category.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (categories is not null && (categories.Length is 0 or > 20 || !categories.All(Identifiers.IsClassOrCategory)))
        {
            throw new DomainException(DomainErrors.InvalidInput, "category is a comma-separated list of up to 20 category or class codes", "category");
        }

        var scope = grid ?? region ?? throw new DomainException(DomainErrors.InvalidInput, "Give a grid or a region", "grid");
        if (grid is not null && !RegionCode.IsValid(grid, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "grid");
        }

        if (grid is null && !RegionCode.IsValid(scope))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9 or 12 digits", "region");
        }

        Policy.Require(Caller.From(user), Act.IncidentList, Target.RegionOf(scope), grid is null ? "region" : "grid");
        if (grid is not null)
        {
            await grains.GetGrain<IGridGrain>(grid).GetAsync();     // 404 for an unknown grid
        }

        var grids = await RegionTree.GridsUnderAsync(grains, scope);
        var items = new List<IncidentSummary>();
        await Parallel.ForEachAsync(grids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (code, _) =>
        {
            var view = await grains.GetGrain<IGridGrain>(code).GetAsync();
            lock (items)
            {
                items.AddRange(view.OpenIncidents);
                items.AddRange(view.RecentlyFinished);
            }
        });

        var filtered = items.Where(i => (wanted is null || i.State == wanted)
                && (categories is null || categories.Any(c => i.Category.StartsWith(c, StringComparison.Ordinal)))).OrderByDescending(i => i.Id, StringComparer.Ordinal).ToList();
        return new PageOf<IncidentSummary>([.. filtered.Skip((number - 1) * size).Take(size)], number, size, filtered.Count);
    }

    private static string RequireId(string id) =>
        Identifiers.IsEntityId(id)
            ? id : throw new DomainException(DomainErrors.InvalidInput, "An incident id is 1–64 letters, digits, '-' or '_'", "id");
}
