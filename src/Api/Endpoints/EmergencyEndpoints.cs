using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Api.Photos;

namespace GridDispatch.Api.Endpoints;

/// <summary>Emergency operation: mode switches, campaigns and their tasks, surge workers, the load view.</summary>
public static class EmergencyEndpoints
{
    public static RouteGroupBuilder MapEmergency(this RouteGroupBuilder api)
    {
        api.MapPost("/regions/{code}/mode", async (string code, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            request.HttpContext.AuditRegion(RegionEndpoints.RegionCodeOf(code));
            var body = await JsonBody.ReadAsync<ModeRequest>(request);
            Policy.Require(caller, Act.RegionMode, Target.RegionOf(code), "code");
            var command = new ModeCommand(
                body.Mode ?? throw new DomainException(DomainErrors.InvalidInput, "Mode is required: everyday or emergency", "mode"),
                body.Level, body.Reason ?? "", caller.Actor(body.Actor), caller.Scope);
            return await grains.GetGrain<IEmergencyGrain>(code).SwitchAsync(command);
        }).Takes<ModeRequest>();
        api.MapGet("/regions/{code}/emergency", (string code, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            Policy.Require(Caller.From(user), Act.RegionEmergency, Target.RegionOf(RegionEndpoints.RegionCodeOf(code)), "code");
            return grains.GetGrain<IEmergencyGrain>(code).GetAsync();
        });
        api.MapGet("/regions/{code}/load", (string code, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            Policy.Require(Caller.From(user), Act.RegionLoad, Target.RegionOf(code), "code");
            return LoadAsync(code, grains);
        });

        api.MapPost("/campaigns", LaunchAsync).Takes<CampaignRequest>().Produces<CampaignView>(StatusCodes.Status201Created);
        api.MapGet("/campaigns", async (string? scope, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var code = scope is not null && RegionCode.IsValid(scope)
                ? scope
                : throw new DomainException(DomainErrors.InvalidInput, "Give the scope to list, as a region or grid code", "scope");
            Policy.Require(Caller.From(user), Act.CampaignList, Target.RegionOf(code), "scope");
            return await grains.GetGrain<IOperationsDirectoryGrain>(RegionCode.AncestorAt(code, RegionLevel.City)).CampaignsAsync(code);
        });
        api.MapGet("/campaigns/{id}", async (string id, int? limit, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var view = await grains.GetGrain<ICampaignGrain>(CampaignIdOf(id)).GetAsync(limit ?? 200);
            Policy.Require(caller, Act.CampaignRead, Target.RegionOf(view.Spec.Scope));
            return view;
        });
        api.MapPost("/campaigns/{id}/end", async (string id, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var body = await JsonBody.ReadAsync<CampaignEndRequest>(request);
            var campaign = grains.GetGrain<ICampaignGrain>(CampaignIdOf(id));
            var scope = (await campaign.GetAsync(0)).Spec.Scope;
            request.HttpContext.AuditRegion(scope);
            Policy.Require(caller, Act.CampaignEnd, Target.RegionOf(scope));
            return await campaign.EndAsync(caller.Actor(body.Actor), body.Reason ?? "", caller.Scope);
        }).Takes<CampaignEndRequest>();

        api.MapGet("/campaigns/tasks/{taskId}", async (string taskId, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var task = await grains.GridOf(taskId).GetSweepTaskAsync(taskId);
            Policy.Require(caller, Act.TaskRead, Target.Of(task), "taskId");
            return task;
        });
        api.MapPost("/campaigns/tasks/{taskId}/start", async (string taskId, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var grid = grains.GridOf(taskId);
            request.HttpContext.AuditRegion(grid.GetPrimaryKeyString());
            var body = await JsonBody.ReadAsync<SweepTaskRequest>(request);
            var actor = caller.Actor(body.Actor);
            Policy.Require(caller, Act.TaskStart, Target.Of(await grid.GetSweepTaskAsync(taskId)), "taskId");
            return await grid.StartSweepTaskAsync(taskId, actor);
        }).Takes<SweepTaskRequest>();
        api.MapPost("/campaigns/tasks/{taskId}/finish", async (string taskId, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, Domain.CategoryCatalog catalog,
            Photos.IPhotoStore photos) =>
        {
            var caller = Caller.From(user);
            var grid = grains.GridOf(taskId);
            request.HttpContext.AuditRegion(grid.GetPrimaryKeyString());
            var body = await JsonBody.ReadAsync<SweepTaskRequest>(request);
            body = body with { Actor = caller.Actor(body.Actor) };
            var findings = (body.Findings ?? []).Select((f, i) => new Finding(
                f?.Category ?? throw new DomainException(DomainErrors.InvalidInput, "A finding needs a category", $"findings[{i}].category"),
                f.Severity ?? Severity.Routine, f.Description ?? "")).ToArray();
            for (var i = 0; i < findings.Length; i++)
            {
                catalog.RequireReportable(findings[i].Category, $"findings[{i}].category");   // the register's own warnings are not findings
            }

            Policy.Require(caller, Act.TaskFinish, Target.Of(await grid.GetSweepTaskAsync(taskId)), "taskId");
            var (task, incidents) = await PhotoEndpoints.WithPhotosAsync(photos, caller, body.Photos, PhotoSubjects.Of(PhotoSubjects.Task, taskId),
                shots => grains.FinishTaskAsync(taskId, new SweepResult(body.Actor ?? "", body.Outcome is not SweepOutcome.NotReachable, body.Note, [.. findings], shots)));
            return new TaskFinished(task, incidents);
        }).Takes<SweepTaskRequest>();

        api.MapPost("/workers/surge", SurgeAsync).Takes<SurgeRequestDto>();
        return api;
    }

    /// <summary>201 with the campaign; an Idempotency-Key makes the id stable, so a retried launch returns the same campaign.</summary>
    private static async Task<IResult> LaunchAsync(HttpRequest request, ClaimsPrincipal user, IGrainFactory grains, Register.HouseholdTagCatalog householdTags)
    {
        var caller = Caller.From(user);
        var key = IdempotencyKey.Of(request);

        var body = await JsonBody.ReadAsync<CampaignRequest>(request);
        var times = new List<TimeOnly>();
        foreach (var (text, i) in (body.Schedule?.TimesOfDay ?? []).Select((t, i) => (t, i)))
        {
            times.Add(TimeOnly.TryParseExact(text ?? "", "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
                ? time
                : throw new DomainException(DomainErrors.InvalidInput, "Times of day are written HH:mm", $"schedule.timesOfDay[{i}]"));
        }

        var spec = new CampaignSpec(
            body.Scope ?? throw new DomainException(DomainErrors.InvalidInput, "A scope (region or grid code) is required", "scope"),
            body.Kind ?? throw new DomainException(DomainErrors.InvalidInput, "Kind is sweep-buildings, check-households or deliver-supplies", "kind"),
            body.Title ?? "",
            body.Schedule is null ? null : new CampaignSchedule([.. times], body.Schedule.Until),
            caller.Actor(body.Actor), caller.Scope, CampaignTags(body, householdTags), CampaignSupplies(body));
        if (RegionCode.IsValid(spec.Scope))
        {
            request.HttpContext.AuditRegion(spec.Scope);
        }

        Policy.Require(caller, Act.CampaignLaunch, Target.RegionOf(spec.Scope), "scope");

        // The key's namespace is the caller's: another commander's same key names another campaign.
        var id = key.Length > 0
            ? "cmp-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{caller.Id}\n{key}")))[..16]
            : "cmp-" + Guid.NewGuid().ToString("N")[..16];
        var view = await grains.GetGrain<ICampaignGrain>(id).LaunchAsync(spec);
        return Results.Created($"/api/campaigns/{view.Id}", view);
    }

    /// <summary>A check of the households with one of these tags (none: every household); only a check takes tags.</summary>
    private static string[]? CampaignTags(CampaignRequest body, Register.HouseholdTagCatalog catalog)
    {
        var tags = body.Tags ?? [];
        if (tags.Count > 0 && body.Kind != CampaignKind.CheckHouseholds)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Only a check-households campaign takes tags (a delivery goes to isolated households)", "tags");
        }

        for (var i = 0; i < tags.Count; i++)
        {
            if (tags[i] is null || !catalog.TryGet(tags[i], out _))
            {
                throw new DomainException(DomainErrors.InvalidInput, $"'{tags[i]}' is not a household tag of this city", $"tags[{i}]");
            }
        }

        return tags.Count == 0 ? null : [.. tags.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>What a delivery brings (shown on its tasks), 1–200 characters; only a delivery takes it.</summary>
    private static string? CampaignSupplies(CampaignRequest body) => body.Supplies switch
    {
        null => null,
        _ when body.Kind != CampaignKind.DeliverSupplies => throw new DomainException(DomainErrors.InvalidInput, "Only a deliver-supplies campaign takes supplies", "supplies"),
        { Length: 0 or > 200 } => throw new DomainException(DomainErrors.InvalidInput, "supplies is 1–200 characters", "supplies"),
        var s => s,
    };

    private static async Task<SurgeResult> SurgeAsync(HttpRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var caller = Caller.From(user);
        var body = await JsonBody.ReadAsync<SurgeRequestDto>(request);
        var scope = body.Scope is not null && RegionCode.IsValid(body.Scope)
            ? body.Scope
            : throw new DomainException(DomainErrors.InvalidInput, "The scope is a region or grid code", "scope");
        request.HttpContext.AuditRegion(scope);
        Policy.Require(caller, Act.Surge, Target.RegionOf(scope), "scope");
        var workers = (body.Workers ?? throw new DomainException(DomainErrors.InvalidInput, "A list of workers is required", "workers"))
            .Select((w, i) => w is null
                ? throw new DomainException(DomainErrors.InvalidInput, "A worker is required", $"workers[{i}]")
                : new SurgeWorker(w.Id ?? "", w.Name ?? "",
                    w.Kind ?? throw new DomainException(DomainErrors.InvalidInput, "Kind is volunteer, cadre or propertyStaff", $"workers[{i}].kind"),
                    [.. w.Categories ?? []], w.Capacity ?? 5, w.Home))
            .ToArray();
        var episode = await grains.GetGrain<IOperationsDirectoryGrain>(RegionCode.AncestorAt(scope, RegionLevel.City)).EpisodeCoveringAsync(scope)
            ?? throw new DomainException(DomainErrors.IllegalTransition, $"No emergency is active at or above {scope}: surge workers join grids only in emergency operation");
        return await grains.GetGrain<IEmergencyGrain>(episode).SurgeAsync(
            new SurgeRequest(scope, caller.Actor(body.Actor), body.Attach ?? SurgeAttach.ByNeed, [.. workers], caller.Scope));
    }

    private static async Task<LoadView> LoadAsync(string code, IGrainFactory grains)
    {
        if (RegionCode.IsValid(code, RegionLevel.Grid))
        {
            var grid = await grains.GetGrain<IGridGrain>(code).GetAsync();
            var s = grid.Summary;
            var roster = grid.Roster.OrderByDescending(e => (double)e.Load / e.Capacity).ThenBy(e => e.WorkerId, StringComparer.Ordinal)
                .Select(WorkerBrief.Of).ToList();
            return new LoadView(s.Code, s.Level, s.Name, s.Mode, s.Workers, s.Load, s.Capacity, Utilisation(s), s.Overloaded, s.SurgeWorkers, roster, []);
        }

        var region = await grains.GetRegion(RegionEndpoints.RegionCodeOf(code)).GetAsync();
        var r = region.Summary;
        return new LoadView(r.Code, r.Level, r.Name, r.Mode, r.Workers, r.Load, r.Capacity, Utilisation(r), r.Overloaded, r.SurgeWorkers,
            r.TopLoaded.IsDefault ? [] : r.TopLoaded,
            [.. region.Children.Select(c => new LoadRow(c.Code, c.Level, c.Name, c.Workers, c.Load, c.Capacity, c.Overloaded, c.SurgeWorkers))]);
    }

    private static double Utilisation(UnitSummary s) => s.Capacity > 0 ? Math.Round((double)s.Load / s.Capacity, 3) : 0;

    internal static string CampaignIdOf(string id) =>
        Identifiers.IsEntityId(id)
            ? id : throw new DomainException(DomainErrors.InvalidInput, "A campaign id is 1–64 letters, digits, '-' or '_'", "id");
}
