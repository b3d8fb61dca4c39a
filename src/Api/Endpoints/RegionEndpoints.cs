using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Domain;

namespace GridDispatch.Api.Endpoints;

public static class RegionEndpoints
{
    public static RouteGroupBuilder MapRegions(this RouteGroupBuilder api)
    {
        api.MapGet("/regions/{code}", (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            http.AuditRegion(RegionCodeOf(code));
            Policy.Require(Caller.From(user), Act.RegionRead, Target.RegionOf(RegionCodeOf(code)), "code");
            return grains.GetRegion(code).GetAsync();
        });
        api.MapGet("/grids/{code}", (string code, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            http.AuditRegion(GridCodeOf(code));
            Policy.Require(Caller.From(user), Act.RegionRead, Target.RegionOf(GridCodeOf(code)), "code");
            return grains.GetGrain<IGridGrain>(code).GetAsync();
        });
        api.MapGet("/kpis/{code}", async (string code, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            Policy.Require(Caller.From(user), Act.KpiRead, Target.RegionOf(code), "code");
            var summary = RegionCode.IsValid(code, RegionLevel.Grid)
                ? (await grains.GetGrain<IGridGrain>(code).GetAsync()).Summary
                : (await grains.GetRegion(RegionCodeOf(code)).GetAsync()).Summary;
            return new KpiReport(summary.Code, summary.Level, summary.Name, KpiFigures.Of(summary.Kpi.All), KpiFigures.Of(summary.Kpi.Urgent), summary.AsOf);
        });
        api.MapGet("/departments/{key}", async (string key, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            // A department's staff and queue: its own officers, or a commander of its city.
            var caller = Caller.From(user);
            var parts = key.Split(':');
            if (parts.Length != 2 || !RegionCode.IsValid(parts[0], RegionLevel.City) || parts[1].Length is 0 or > 64)
            {
                throw new DomainException(DomainErrors.InvalidInput, "A department key is {city}:{department}", "key");
            }

            Policy.Require(caller, Act.DepartmentRead, Target.DepartmentOf(key), "key");

            return await grains.GetGrain<IDepartmentGrain>(key).GetAsync();
        });
        api.MapGet("/workers/{id}", async (string id, ClaimsPrincipal user, IGrainFactory grains) =>
            Access.Worker(Caller.From(user), await grains.GetGrain<IWorkerGrain>(WorkerIdOf(id)).GetAsync()));
        api.MapPut("/workers/{id}/status", async (string id, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var body = await JsonBody.ReadAsync<WorkerStatusRequest>(request);
            var worker = await grains.GetGrain<IWorkerGrain>(WorkerIdOf(id)).GetAsync();
            request.HttpContext.AuditRegion(worker.Profile.Home ?? "");
            Policy.Require(caller, Act.WorkerStatus, Target.Of(worker));
            return await grains.GetGrain<IWorkerGrain>(WorkerIdOf(id)).SetStatusAsync(
                body.Status ?? throw new DomainException(DomainErrors.InvalidInput, "Status is required: offDuty, available, busy or onPatrol", "status"));
        }).Takes<WorkerStatusRequest>();
        api.MapPut("/workers/{id}/location", async (string id, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            var caller = Caller.From(user);
            var body = await JsonBody.ReadAsync<LocationDto>(request);
            var worker = await grains.GetGrain<IWorkerGrain>(WorkerIdOf(id)).GetAsync();
            request.HttpContext.AuditRegion(worker.Profile.Home ?? "");
            Policy.Require(caller, Act.WorkerLocation, Target.Of(worker));
            return await grains.GetGrain<IWorkerGrain>(WorkerIdOf(id)).SetLocationAsync(new GeoPoint(body.Latitude, body.Longitude));
        }).Takes<LocationDto>();
        api.MapGet("/categories", (ClaimsPrincipal user, CategoryCatalog catalog) =>
        {
            Policy.Require(Caller.From(user), Act.CatalogueRead, Target.Nothing);
            return catalog.Classes.Select(c => new
        {
            c.Code, c.Name, c.NameZh, c.Standard,
            Categories = c.Categories.Select(s => new
            {
                s.Code, s.Name, s.NameZh, s.Department, s.Reportable,
                Limits = new { Accept = s.AcceptLimit.ToString(), Dispatch = s.DispatchLimit.ToString(), Handle = s.HandleLimit.ToString(), Verify = s.VerifyLimit.ToString() },
                s.AcceptCondition, s.CloseCondition,
            }),
        });
        });
        return api;
    }

    internal static string RegionCodeOf(string code) =>
        RegionCode.TryGetLevel(code, out var level) && level != RegionLevel.Grid ? code
            : throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9 or 12 digits", "code");

    internal static string GridCodeOf(string code) => RegionCode.IsValid(code, RegionLevel.Grid) ? code
        : throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "code");

    internal static string WorkerIdOf(string id) =>
        Identifiers.IsWorkerId(id)
            ? id : throw new DomainException(DomainErrors.InvalidInput, "A worker id is 1–64 letters, digits, '-', '_' or '.'", "id");
}
