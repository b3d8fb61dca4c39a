using System.Globalization;
using System.Threading.RateLimiting;
using GridDispatch.Domain;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;

namespace GridDispatch.Api.Http;

/// <summary>Requests per client address per minute on the public doors (section "GridDispatch:RateLimits").</summary>
public sealed class RateLimitOptions
{
    public const string Section = "GridDispatch:RateLimits";

    /// <summary>Reports (POST /api/incidents, Open311 POST requests.json).</summary>
    public int IntakePerMinute { get; set; } = 60;

    /// <summary>Sign-in (POST /dev/token).</summary>
    public int LoginPerMinute { get; set; } = 10;

    /// <summary>Every command (any method but GET/HEAD/OPTIONS) per signed-in user.</summary>
    public int CommandsPerUserPerMinute { get; set; } = 600;

    /// <summary>Every command per client address (all users behind one address together).</summary>
    public int CommandsPerAddressPerMinute { get; set; } = 6000;

    public static SettingRules<RateLimitOptions> Rules => new SettingRules<RateLimitOptions>(Section)
        .AtLeast(nameof(IntakePerMinute), o => o.IntakePerMinute, 1)
        .AtLeast(nameof(LoginPerMinute), o => o.LoginPerMinute, 1)
        .AtLeast(nameof(CommandsPerUserPerMinute), o => o.CommandsPerUserPerMinute, 1)
        .AtLeast(nameof(CommandsPerAddressPerMinute), o => o.CommandsPerAddressPerMinute, 1);
}

/// <summary>
/// Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (section "GridDispatch:Proxies"). With none
/// configured the headers are ignored, so a client cannot pick its own address to dodge a limit or the audit log.
/// </summary>
public sealed class ProxyOptions
{
    public const string Section = "GridDispatch:Proxies";

    /// <summary>Addresses of known proxies ("10.0.0.5").</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of known proxies in CIDR form ("10.0.0.0/24").</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies deep the forwarded chain is read (a CDN in front of a load balancer is 2).</summary>
    public int ForwardLimit { get; set; } = 1;

    public static SettingRules<ProxyOptions> Rules => new SettingRules<ProxyOptions>(Section)
        .Between(nameof(ForwardLimit), o => o.ForwardLimit, 1, 10)
        .Explained(o => o.KnownProxies.Select((p, i) => (p, i)).FirstOrDefault(x => !System.Net.IPAddress.TryParse(x.p, out _)) is { p: { } bad } at
            ? $"{nameof(KnownProxies)}:{at.i} is an IP address (10.0.0.5), not '{bad}'" : null)
        .Explained(o => o.KnownNetworks.Select((n, i) => (n, i)).FirstOrDefault(x => !System.Net.IPNetwork.TryParse(x.n, out _)) is { n: { } bad } at
            ? $"{nameof(KnownNetworks)}:{at.i} is a network in CIDR form (10.0.0.0/24), not '{bad}'" : null);
}

public static partial class RateLimits
{
    public const string Intake = "intake";
    public const string Login = "login";

    /// <summary>Fixed one-minute windows per client address; a refusal is 429 with Retry-After and a problem body.</summary>
    public static IServiceCollection AddGridDispatchRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var o = RateLimitOptions.Rules.Check(configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions());
        return services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Intake, context => PerAddress(context, o.IntakePerMinute));
            limiter.AddPolicy(Login, context => PerAddress(context, o.LoginPerMinute));
            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                // Per signed-in user (callers without a subject have no bucket of their own: the address limit holds them).
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    IsCommand(context) && context.User.FindFirst(Auth.GridClaims.Subject)?.Value is { Length: > 0 } subject
                        ? RateLimitPartition.GetFixedWindowLimiter("user:" + subject, _ => Window(o.CommandsPerUserPerMinute))
                        : RateLimitPartition.GetNoLimiter("none")),
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsCommand(context)
                    ? RateLimitPartition.GetFixedWindowLimiter("address:" + Address(context), _ => Window(o.CommandsPerAddressPerMinute))
                    : RateLimitPartition.GetNoLimiter("reads")));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await response.WriteAsJsonAsync(new Microsoft.AspNetCore.Mvc.ProblemDetails
                {
                    Status = StatusCodes.Status429TooManyRequests,
                    Title = "too-many-requests",
                    Detail = $"Too many requests from this user or address; try again in {seconds} s.",
                }, JsonBody.Options, "application/problem+json", cancellationToken);
            };
        });
    }

    private static RateLimitPartition<string> PerAddress(HttpContext context, int perMinute) =>
        RateLimitPartition.GetFixedWindowLimiter(Address(context), _ => Window(perMinute));

    private static FixedWindowRateLimiterOptions Window(int perMinute) => new()
    {
        PermitLimit = Math.Max(1, perMinute),
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
    };

    /// <summary>The client's address: the connection's, or the one a known proxy forwarded (see <see cref="ProxyOptions"/>).</summary>
    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static bool IsCommand(HttpContext context) =>
        !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method))
        && !context.Request.Path.StartsWithSegments("/hubs");

    /// <summary>Believes X-Forwarded-For/-Proto from the configured proxies only; with none configured, from nobody.</summary>
    public static IApplicationBuilder UseKnownProxies(this IApplicationBuilder app, IConfiguration configuration)
    {
        if (string.Equals(configuration["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] ?? Environment.GetEnvironmentVariable("ASPNETCORE_FORWARDEDHEADERS_ENABLED"),
                "true", StringComparison.OrdinalIgnoreCase))
        {
            LogForwardedHeadersFromAnyone(app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("GridDispatch.Api"));
        }

        var proxies = ProxyOptions.Rules.Check(configuration.GetSection(ProxyOptions.Section).Get<ProxyOptions>() ?? new ProxyOptions());
        if (proxies.KnownProxies.Count == 0 && proxies.KnownNetworks.Count == 0)
        {
            return app;
        }

        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = Math.Max(1, proxies.ForwardLimit),
        };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in proxies.KnownProxies)
        {
            options.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
        }

        foreach (var network in proxies.KnownNetworks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }

        return app.UseForwardedHeaders(options);
    }

    [LoggerMessage(EventId = 6202, Level = LogLevel.Warning,
        Message = "ASPNETCORE_FORWARDEDHEADERS_ENABLED is set: ASP.NET believes X-Forwarded-For from anyone. Unset it and list the proxies in GridDispatch:Proxies instead.")]
    private static partial void LogForwardedHeadersFromAnyone(ILogger logger);
}
