using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace GridDispatch.Api;

/// <summary>
/// The thin API host of the engine core: a co-hosted silo (the embedded default) and read endpoints.
/// Commands, Open311, SignalR and the dashboard arrive with the live-operations issue.
/// </summary>
public static class GridDispatchApi
{
    public static WebApplicationBuilder AddGridDispatchApi(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddGridDispatchDefaults();
        builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        return builder;
    }

    public static WebApplication MapGridDispatchApi(this WebApplication app)
    {
        app.UseExceptionHandler(errors => errors.Run(WriteProblemAsync));

        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        app.MapGet("/health/ready", async (IGrainFactory grains, IConfiguration configuration) =>
        {
            // Ready when the silo answers a grain call.
            await grains.GetGrain<IDepartmentGrain>("health").GetAsync();
            return Results.Ok(new { status = "ready" });
        });

        var api = app.MapGroup("/api");
        api.MapGet("/regions/{code}", (string code, IGrainFactory grains) => grains.GetRegion(RequireCode(code)).GetAsync());
        api.MapGet("/grids/{code}", (string code, IGrainFactory grains) =>
            RegionCode.IsValid(code, RegionLevel.Grid) ? grains.GetGrain<IGridGrain>(code).GetAsync()
                : throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "code"));
        api.MapGet("/incidents/{id}", (string id, IGrainFactory grains) => grains.GetGrain<IIncidentGrain>(id).GetAsync());
        api.MapGet("/workers/{id}", (string id, IGrainFactory grains) => grains.GetGrain<IWorkerGrain>(id).GetAsync());
        api.MapGet("/categories", (CategoryCatalog catalog) => catalog.Classes.Select(c => new
        {
            c.Code, c.Name, c.NameZh, c.Standard,
            categories = c.Categories.Select(s => new
            {
                s.Code, s.Name, s.NameZh, s.Department,
                limits = new { accept = s.AcceptLimit.ToString(), dispatch = s.DispatchLimit.ToString(), handle = s.HandleLimit.ToString(), verify = s.VerifyLimit.ToString() },
                s.AcceptCondition, s.CloseCondition,
            }),
        }));
        return app;
    }

    private static string RequireCode(string code) =>
        RegionCode.TryGetLevel(code, out var level) && level != RegionLevel.Grid ? code
            : throw new DomainException(DomainErrors.InvalidInput, "A region code has 4, 6, 9 or 12 digits", "code");

    /// <summary>Domain refusals become problem details naming the field; anything else is a 500 without internals.</summary>
    private static async Task WriteProblemAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var problem = error is DomainException domain
            ? new ProblemDetails
            {
                Status = domain.Code switch
                {
                    DomainErrors.NotFound => StatusCodes.Status404NotFound,
                    DomainErrors.IllegalTransition or DomainErrors.Conflict => StatusCodes.Status409Conflict,
                    DomainErrors.NotAllowed => StatusCodes.Status403Forbidden,
                    _ => StatusCodes.Status400BadRequest,
                },
                Title = domain.Code,
                Detail = domain.Message,
                Extensions = { ["field"] = domain.Field },
            }
            : new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "internal-error" };
        context.Response.StatusCode = problem.Status!.Value;
        await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }
}
