using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Domain;

namespace GridDispatch.Api.Endpoints;

public static class IncidentEndpoints
{
    private const int MaxPageSize = 200;

    public static RouteGroupBuilder MapIncidents(this RouteGroupBuilder api)
    {
        api.MapPost("/incidents", ReportAsync).RequireRateLimiting(RateLimits.Intake);
        api.MapGet("/incidents/{id}", async (string id, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog) =>
            Access.Incident(Caller.From(user), await grains.GetGrain<IIncidentGrain>(RequireId(id)).GetAsync(), catalog));
        api.MapGet("/incidents", ListAsync);
        api.MapPost("/incidents/{id}/{action}", ActAsync);
        return api;
    }

    /// <summary>Intake. The incident's id comes from (source, external id); an Idempotency-Key header stands in for a missing external id.</summary>
    private static async Task<IResult> ReportAsync(HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog)
    {
        var caller = Caller.From(user);
        var body = await JsonBody.ReadAsync<ReportIncidentRequest>(request);
        if (caller.Role == CallerRole.Resident)
        {
            // A resident reports as themself: the reporter is the token's subject.
            if (body.Reporter?.Id is { Length: > 0 } named && named != caller.Id)
            {
                throw new DomainException(DomainErrors.NotAllowed, $"You report as {caller.Id}, not as {named}", "reporter.id");
            }

            body = body with { Reporter = (body.Reporter ?? new ReporterDto(null, null, null, null)) with { Id = caller.Id } };
        }
        else if (caller.Role == CallerRole.Department)
        {
            throw new DomainException(DomainErrors.NotAllowed, "Department staff take incidents from their queue; report through a grid", "token");
        }
        else if (body.GridCode is { } grid)
        {
            caller.RequireCovers(grid, "gridCode");
        }

        if (body.GridCode is { Length: > 0 } reportedGrid && RegionCode.IsValid(reportedGrid))
        {
            request.HttpContext.AuditRegion(reportedGrid);
        }

        body = body with { Actor = caller.Actor(body.Actor) };
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "The Idempotency-Key is longer than 128 characters", "Idempotency-Key");
        }

        var report = ToReport(body, string.IsNullOrEmpty(body.ExternalId) && key.Length > 0 ? key : body.ExternalId);
        var result = await grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId)).ReportAsync(report);
        if (!result.SameRequest)
        {
            throw new DomainException(DomainErrors.Conflict,
                $"Incident {result.Incident.Id} was already reported under this source and key with different content", "Idempotency-Key");
        }

        var location = $"/api/incidents/{result.Incident.Id}";
        var shown = Access.Incident(caller, result.Incident, catalog);
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

    private static string? Clip(string? value, string field) => value is { Length: > 200 }
        ? throw new DomainException(DomainErrors.InvalidInput, $"'{field}' is longer than 200 characters", field)
        : value;

    private static async Task<IResult> ActAsync(string id, string action, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, CategoryCatalog catalog)
    {
        var caller = Caller.From(user);
        var incident = grains.GetGrain<IIncidentGrain>(RequireId(id));
        var current = await incident.GetAsync();
        request.HttpContext.AuditRegion(current.GridCode);
        var body = await JsonBody.ReadAsync<IncidentActionRequest>(request);
        var actor = caller.Actor(body.Actor);
        if (Supervisory.Contains(action))
        {
            // Steps of the supervisor: leaders, administrators and commanders of the grid, or the owning department.
            if (!Access.OwnsCategory(caller, current.GridCode, current.Category, catalog))
            {
                caller.RequireSupervisorOf(current.GridCode, "id");
            }
        }

        var command = new ActorCommand(actor, body.Reason);
        var view = action switch
        {
            "accept" => await incident.AcceptAsync(command),
            "assign" => await incident.AssignAsync(new AssignCommand(actor, body.WorkerId ?? "", body.Reason)),
            "acknowledge" => await incident.AcknowledgeAsync(command),
            "decline" => await incident.DeclineAsync(command),
            "start" => await incident.StartAsync(command),
            "resolve" => await incident.ResolveAsync(command),
            "hand-back" => await incident.HandBackAsync(command),
            "verify" => await incident.VerifyAsync(command),
            "rework" => await incident.ReworkAsync(command),
            "rate" => await incident.RateAsync(new RateCommand(actor,
                body.Stars ?? throw new DomainException(DomainErrors.InvalidInput, "Stars (1–5) are required to rate", "stars"), body.Reason)),
            "close" => await incident.CloseAsync(command),
            "cancel" => await incident.CancelAsync(command),
            "defer" => await incident.DeferAsync(new DeferCommand(actor, body.Reason ?? "", body.Until)),
            "resume" => await incident.ResumeAsync(command),
            "escalate" => await incident.EscalateAsync(command),
            _ => throw new DomainException(DomainErrors.InvalidInput,
                $"Unknown action '{action}'; one of {string.Join(", ", Actions)}", "action"),
        };
        return Results.Ok(Access.Incident(caller, view, catalog));
    }

    /// <summary>Actions of a supervisor; the worker's own steps and the reporter's rating are checked by the incident itself.</summary>
    private static readonly HashSet<string> Supervisory = ["accept", "assign", "verify", "rework", "close", "cancel", "defer", "resume", "escalate"];

    public static readonly string[] Actions =
        ["accept", "assign", "acknowledge", "decline", "start", "resolve", "hand-back", "verify", "rework", "rate", "close", "cancel", "defer", "resume", "escalate"];

    /// <summary>Open and recently finished incidents of a grid or of every grid under a region, filtered by state, in id order (stable pages).</summary>
    private static async Task<PageOf<IncidentSummary>> ListAsync(ClaimsPrincipal user, IGrainFactory grains, string? grid, string? region, string? state, int? page, int? pageSize)
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

        var scope = grid ?? region ?? throw new DomainException(DomainErrors.InvalidInput, "Give a grid or a region", "grid");
        if (grid is not null && !RegionCode.IsValid(grid, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "grid");
        }

        if (grid is null && !RegionCode.IsValid(scope))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9 or 12 digits", "region");
        }

        Caller.From(user).RequireCovers(scope, grid is null ? "region" : "grid");
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

        var filtered = items.Where(i => wanted is null || i.State == wanted).OrderByDescending(i => i.Id, StringComparer.Ordinal).ToList();
        return new PageOf<IncidentSummary>([.. filtered.Skip((number - 1) * size).Take(size)], number, size, filtered.Count);
    }

    private static string RequireId(string id) =>
        Identifiers.IsEntityId(id)
            ? id : throw new DomainException(DomainErrors.InvalidInput, "An incident id is 1–64 letters, digits, '-' or '_'", "id");
}
