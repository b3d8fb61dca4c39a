using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Orleans.Dashboard;

namespace GridDispatch.Api.Auth;

/// <summary>
/// The Orleans dashboard at <see cref="Path"/>, for commanders and administrators (<see cref="Act.ClusterDashboard"/>):
/// 401 without a token, 403 for any other role. A browser cannot put a bearer token on the dashboard's own page loads
/// and polls, so it opens <c>/dashboard/?access_token=…</c> once: the token goes into an HttpOnly, SameSite=Strict
/// cookie scoped to <see cref="Path"/>, read back on each of the dashboard's requests until the token expires.
/// </summary>
public static class ClusterDashboard
{
    public const string Path = "/dashboard";
    public const string Cookie = "gd_dashboard";
    private const string PolicyName = "cluster-dashboard";
    private const string FromQuery = "gd_dashboard_from_query";

    public static void AddPolicy(AuthorizationBuilder authorization) => authorization.AddPolicy(PolicyName, p => p.RequireAuthenticatedUser()
        .RequireAssertion(context => context.User.Identity?.IsAuthenticated == true
            && Policy.Decide(Caller.From(context.User), Act.ClusterDashboard, Target.Nothing) is not null));

    /// <summary>Where the dashboard's requests find their token (the JWT bearer handler's OnMessageReceived).</summary>
    public static void ReadToken(MessageReceivedContext context)
    {
        if (!context.Request.Path.StartsWithSegments(Path) || context.Token is not null || context.Request.Headers.Authorization.Count > 0)
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
            Secure = context.Request.IsHttps,
            Path = Path,
            Expires = context.SecurityToken.ValidTo,
        });
    }

    public static void MapClusterDashboard(this WebApplication app)
    {
        if (!Silo.Telemetry.TelemetrySetup.DashboardOn(app.Configuration))
        {
            return;
        }

        app.MapOrleansDashboard(Path).RequireAuthorization(PolicyName).ExcludeFromDescription();     // its own pages, not the API
    }
}
