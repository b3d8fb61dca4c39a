using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Orleans.Dashboard;

namespace GridDispatch.Api.Auth;

/// <summary>
/// The Orleans dashboard at <see cref="Path"/>, for commanders and administrators (<see cref="Act.ClusterDashboard"/>):
/// 401 without a token, 403 for any other role. A browser cannot put a bearer token on the dashboard's own page loads
/// and polls, so it opens <c>/dashboard/?access_token=…</c> once: the token goes into an HttpOnly, SameSite=Strict
/// cookie scoped to <see cref="Path"/>, read back on each of the dashboard's requests until the token expires, and is
/// sent on (303) to the same page without the token, so it stays out of the address bar, the history and the Referer of
/// the dashboard's polls (which also carry Referrer-Policy: no-referrer). Two of the dashboard's endpoints are not
/// served: GrainState (it calls a method of any grain by id, activating it) and Reminders (every incident's id across the
/// city): the dashboard's reach is the cluster's health, not a region's cases.
/// </summary>
public static class ClusterDashboard
{
    public const string Path = "/dashboard";
    public const string Cookie = "gd_dashboard";
    private const string PolicyName = "cluster-dashboard";
    private const string FromQuery = "gd_dashboard_from_query";
    private const string Kept = "gd_dashboard_kept";
    private static readonly string[] NotServed = ["/GrainState", "/Reminders"];

    public static void AddPolicy(AuthorizationBuilder authorization) => authorization.AddPolicy(PolicyName, p => p.RequireAuthenticatedUser()
        .RequireAssertion(context => context.User.Identity?.IsAuthenticated == true
            && Policy.Decide(Caller.From(context.User), Act.ClusterDashboard, Target.Nothing) is not null));

    /// <summary>Where the dashboard's requests find their token (the JWT bearer handler's OnMessageReceived).</summary>
    public static void ReadToken(MessageReceivedContext context)
    {
        if (!context.Request.Path.StartsWithSegments(Path) || context.Token is not null || context.Request.Headers.Authorization.Count > 0
            || !On(context.HttpContext))
        {
            return;
        }

        if (context.Request.Query["access_token"] is { Count: > 0 } query)
        {
            context.Token = query.ToString();
            context.HttpContext.Items[FromQuery] = true;
        }
        else if (context.Request.Cookies.TryGetValue(Cookie, out var kept))
        {
            context.Token = kept;
        }
    }

    /// <summary>A token that came in the query is kept in the cookie, for as long as it is valid.</summary>
    public static void KeepToken(TokenValidatedContext context)
    {
        if (!context.HttpContext.Items.ContainsKey(FromQuery) || context.SecurityToken is null || context.Principal is null
            || Policy.Decide(Caller.From(context.Principal), Act.ClusterDashboard, Target.Nothing) is null)
        {
            return;     // a refused caller's token is not kept
        }

        context.Response.Cookies.Append(Cookie, context.Request.Query["access_token"].ToString(), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            // Secure wherever a browser can be on HTTPS (behind a TLS-terminating ingress the request here is plain HTTP);
            // only a plain-HTTP loopback host, a developer's machine, gets a cookie a browser keeps without HTTPS.
            Secure = context.Request.IsHttps || !Loopback(context.Request.Host.Host),
            Path = Path,
            Expires = context.SecurityToken.ValidTo,
        });
        context.HttpContext.Items[Kept] = true;
    }

    private static bool Loopback(string host) =>
        host is "localhost" || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));

    private static bool On(HttpContext context) =>
        Silo.Telemetry.TelemetrySetup.DashboardOn(context.RequestServices.GetRequiredService<IConfiguration>());

    /// <summary>
    /// After authorization, before the dashboard's endpoints: no Referer from its pages, the two endpoints it does not
    /// serve answered 404, and a token that came in the query (and was kept) sent on to the same page without it.
    /// </summary>
    private static async Task Gate(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments(Path, out var rest))
        {
            await next(context);
            return;
        }

        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        if (NotServed.Any(p => rest.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
        {
            await Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not served",
                detail: "The dashboard's grain-state and reminder views are not served here: they read any grain, every incident's id").ExecuteAsync(context);
            return;
        }

        if (context.Items.ContainsKey(Kept))
        {
            var query = QueryString.Create(context.Request.Query.Where(q => q.Key != "access_token"));
            context.Response.Redirect($"{context.Request.PathBase}{context.Request.Path}{query}");
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            return;
        }

        await next(context);
    }

    public static void MapClusterDashboard(this WebApplication app)
    {
        if (!Silo.Telemetry.TelemetrySetup.DashboardOn(app.Configuration))
        {
            return;
        }

        app.Use(Gate);
        app.MapOrleansDashboard(Path).RequireAuthorization(PolicyName).ExcludeFromDescription();     // its own pages, not the API
    }
}
