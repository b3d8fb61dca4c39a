using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Endpoints;
using GridDispatch.Api.Http;
using GridDispatch.Api.Live;
using GridDispatch.Api.Photos;
using GridDispatch.Domain;
using GridDispatch.Silo;
using GridDispatch.Silo.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Microsoft.AspNetCore.Rewrite;
using Microsoft.AspNetCore.SignalR;

namespace GridDispatch.Api;

/// <summary>The API host: a co-hosted silo (the embedded default), the HTTP API, Open311, live status and the dashboard.</summary>
public static class GridDispatchApi
{
    /// <summary>Builds the application; tests call it with their own arguments and content root.</summary>
    public static WebApplication Create(string[] args, string? contentRoot = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });
        configure?.Invoke(builder);
        builder.AddGridDispatchApi();
        var app = builder.Build();
        app.MapGridDispatchApi();
        return app;
    }

    public static WebApplicationBuilder AddGridDispatchApi(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddGridDispatchDefaults();
        builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
        builder.AddGridDispatchAuth();
        builder.Services.AddGridDispatchRateLimits(builder.Configuration);
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("GridDispatch")))
        {
            builder.Services.AddSingleton<IAuditLog, MemoryAuditLog>();
            builder.Services.AddSingleton<Photos.IPhotoStore, Photos.MemoryPhotoStore>();
        }
        else
        {
            builder.Services.AddSingleton<PostgresAuditLog>();
            builder.Services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<PostgresAuditLog>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<PostgresAuditLog>());
            builder.Services.AddSingleton<Photos.IPhotoStore, Photos.PostgresPhotoStore>();
        }

        builder.Services.AddHostedService<Photos.PhotoPurge>();
        builder.Services.AddGridDispatchTelemetry(builder.Configuration, "griddispatch-api",
            tracing: t => t.AddAspNetCoreInstrumentation(o =>
            {
                o.Filter = http => !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments("/metrics");
                o.EnrichWithHttpResponse = (span, response) => GridDispatch.Telemetry.DomainTags.ForRoute(span,
                    (response.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText,
                    key => response.HttpContext.Request.RouteValues.TryGetValue(key, out var value) ? value?.ToString() : null);
            }),
            metrics: m => m.AddAspNetCoreInstrumentation().AddMeter("Microsoft.AspNetCore.Http.Connections", "Microsoft.AspNetCore.RateLimiting")
                .AddPrometheusExporter());
        builder.Services.AddHostedService<Telemetry.CityGauges>();

        builder.Services.AddProblemDetails();
        // A query or route value that does not bind (page=abc) throws BadHttpRequestException naming the parameter, so
        // RefusalMiddleware can answer with the field; left off (its default outside Development) the answer is a bare 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(o => JsonBody.Configure(o.SerializerOptions));
        builder.Services.AddSingleton<GridLocator>();
        builder.Services.AddOptions<MapOptions>().BindConfiguration(MapOptions.Section).Checked(MapOptions.Rules);
        builder.Services.AddSingleton<PublicBoards>();
        builder.Services.AddOptions<PublicOptions>().BindConfiguration(PublicOptions.Section)
            .Validate(o => o.WorkerFields.All(f => f is "name" or "kind" or "phone"), "GridDispatch:Public:WorkerFields takes name, kind and phone")
            .Validate(o => o.YellowFrom <= o.GreenFrom && o.GreenFrom <= 1, "GridDispatch:Public:YellowFrom ≤ GreenFrom ≤ 1")
            .ValidateOnStart();
        builder.Services.AddSingleton<Open311Keys>();
        builder.Services.AddGridDispatchOpenApi();
        builder.Services.AddSignalR(o => o.AddFilter<LiveHubFilter>()).AddJsonProtocol(o => JsonBody.Configure(o.PayloadSerializerOptions));
        builder.Services.PostConfigure<LoggerFilterOptions>(GridDispatchApiLogging.QuietHubDispatcher);
        builder.Services.AddSingleton<LiveSubscriptions>();
        builder.Services.AddOptions<LiveOptions>().BindConfiguration(LiveOptions.Section).Checked(LiveOptions.Rules);
        builder.Services.AddHostedService<LiveAccessReview>();
        builder.Services.AddSingleton<LiveRelay>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveRelay>());
        return builder;
    }

    public static WebApplication MapGridDispatchApi(this WebApplication app)
    {
        app.UseKnownProxies(app.Configuration);     // first, so limits and the audit log see the client's own address
        app.UseAudit();     // outside the exception handler, so it records the final status of refused commands too
        app.UseExceptionHandler(errors => errors.Run(Problems.WriteAsync));
        app.UseMiddleware<RefusalMiddleware>();     // inside the handler: refusals are answered here and never logged as faults
        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            if (response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
            {
                await Results.Problem(statusCode: response.StatusCode).ExecuteAsync(context.HttpContext);
            }
        });

        // The phone pages and the public board by their own names: /worker, /report, /public.
        app.UseRewriter(new RewriteOptions().AddRewrite("^(worker|report|public)$", "$1.html", skipRemainingRules: true));
        app.UseDefaultFiles();
        app.UseStaticFiles();
        // The reference at /docs is pages like the static ones: served before authorization, whose fallback policy
        // refuses any request without an endpoint (it answered 401 here).
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint(ApiDocument.Path, "GridDispatch API v1");
            o.RoutePrefix = "docs";
            o.DocumentTitle = "GridDispatch API reference";
        });
        app.UseAuthentication();
        app.UseRateLimiter();      // before authorization, so refused (401) callers are limited too
        app.UseAuthorization();
        app.UseMiddleware<Http.ClusterRetry>();     // last before the endpoint: a retried command is not limited or authorized twice
        app.MapOpenApi().AllowAnonymous();
        // Prometheus scrapes from inside the cluster, with no token: this machine and GridDispatch:Telemetry:MetricsFrom only.
        var scrapers = CallerNetworks.Parse(app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value.MetricsFrom,
            $"{TelemetryOptions.Section}:MetricsFrom");
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous().ExcludeFromDescription()
            .Add(endpoint => endpoint.RequestDelegate = Admitted(scrapers, endpoint.RequestDelegate!));
        app.MapDevIssuer();

        var health = app.MapGroup("/health").AllowAnonymous().WithTags("Health").WithProblems();
        health.MapGet("/live", () => new HealthAnswer("live"));
        health.MapGet("/ready", async (IGrainFactory grains, IServiceProvider services) =>
        {
            // Ready means "can serve": the silo answers a grain call in time and, when durable, the database answers.
            try
            {
                await grains.GetGrain<IDepartmentGrain>("health").GetAsync().WaitAsync(TimeSpan.FromSeconds(3));
            }
            catch (Exception ex) when (ex is TimeoutException or Orleans.Runtime.OrleansException or Npgsql.NpgsqlException)
            {
                return Results.Json(new HealthAnswer("not-ready", "the engine did not answer"), statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var log = services.GetService<Silo.Database.IEventLogHealth>();
            if (log is not null && !await log.DatabaseAnswersAsync())
            {
                return Results.Json(new HealthAnswer("not-ready", "the database does not answer"), statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            // An event log that falls behind is reported (here and as griddispatch.eventlog.backlog), not a reason to take
            // the host out of the load balancer: it serves every request as well as before, and every host shares the log.
            return log is { IsReady: false }
                ? Results.Ok(new HealthAnswer("degraded", log.Status, log.Backlog))
                : Results.Ok(new HealthAnswer("ready"));
        }).Produces<HealthAnswer>().Produces<HealthAnswer>(StatusCodes.Status503ServiceUnavailable);

        var api = app.MapGroup("/api").WithProblems();
        api.MapGroup("").WithTags("Incidents").MapIncidents();
        api.MapGroup("").WithTags("Regions and workers").MapRegions();
        api.MapGroup("").WithTags("Emergency operation").MapEmergency();
        api.MapGroup("").WithTags("Household register").MapHouseholds();
        api.MapGroup("").WithTags("Photos").MapPhotos();
        api.MapGroup("").WithTags("Public board").MapPublic();
        api.MapGroup("").WithTags("Map").MapMaps();
        api.MapGroup("").WithTags("Change feed").MapFeed();
        api.MapGet("/audit", async (string? region, string? actor, int? limit, System.Security.Claims.ClaimsPrincipal user, IAuditLog audit, CancellationToken cancellationToken) =>
        {
            // Administrators and commanders, for their own region: what was done there, or by one person there.
            var caller = Caller.From(user);
            var code = region ?? caller.Scope ?? "";
            Policy.Require(caller, Act.AuditRead, Target.RegionOf(code), "region");
            var count = limit ?? 100;
            if (count is < 1 or > 1000)
            {
                throw new DomainException(DomainErrors.InvalidInput, "limit must be from 1 to 1000", "limit");
            }

            return await audit.QueryAsync(code, string.IsNullOrEmpty(actor) ? null : actor, count, cancellationToken);
        }).WithTags("Audit");
        app.MapClusterDashboard();
        app.MapOpen311().WithTags("Open311").WithProblems(typeof(Endpoints.Open311Error[]));
        // A connection lives no longer than its token; the access review ends subscriptions the caller may no longer read.
        app.MapHub<LiveHub>("/hubs/live", o => o.CloseOnAuthenticationExpiration = true);
        return app;
    }

    /// <summary>Answers 404 (nothing here) to a caller <paramref name="networks"/> does not admit, before <paramref name="inner"/> runs.</summary>
    private static RequestDelegate Admitted(CallerNetworks networks, RequestDelegate inner) => context =>
        networks.Admits(context) ? inner(context) : Results.NotFound().ExecuteAsync(context);
}
