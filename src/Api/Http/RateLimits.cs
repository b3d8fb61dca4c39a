using System.Globalization;
using System.Threading.RateLimiting;
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
}

public static class RateLimits
{
    public const string Intake = "intake";
    public const string Login = "login";

    /// <summary>Fixed one-minute windows per client address; a refusal is 429 with Retry-After and a problem body.</summary>
    public static IServiceCollection AddGridDispatchRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var o = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        return services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Intake, context => PerAddress(context, o.IntakePerMinute));
            limiter.AddPolicy(Login, context => PerAddress(context, o.LoginPerMinute));
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
                    Detail = $"Too many requests from this address; try again in {seconds} s.",
                }, JsonBody.Options, "application/problem+json", cancellationToken);
            };
        });
    }

    private static RateLimitPartition<string> PerAddress(HttpContext context, int perMinute) =>
        RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, perMinute),
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        });
}
