using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace GridDispatch.Api.Http;

/// <summary>Maps refusals to problem details: 400 naming the field, 403, 404, 409; nothing else leaks.</summary>
public static partial class Problems
{
    public static int StatusOf(DomainException e) => e.Code switch
    {
        DomainErrors.NotFound => StatusCodes.Status404NotFound,
        DomainErrors.IllegalTransition or DomainErrors.Conflict => StatusCodes.Status409Conflict,
        DomainErrors.NotAllowed => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };

    private static ProblemDetails ToProblem(DomainException e) => new()
    {
        Status = StatusOf(e),
        Title = e.Code,
        Detail = e.Message,
        Extensions = { ["field"] = e.Field },
    };

    /// <summary>The exception handler: domain refusals and bad requests keep their status; anything else is a bare 500.</summary>
    public static async Task WriteAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var problem = error switch
        {
            DomainException domain => ToProblem(domain),
            BadHttpRequestException bad => new ProblemDetails
            {
                Status = bad.StatusCode, Title = DomainErrors.InvalidInput, Detail = bad.Message, Extensions = { ["field"] = "body" },
            },
            TimeoutException => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "unavailable", Detail = "The engine did not answer in time; try again." },
            _ => new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "internal-error" },
        };
        if (problem.Status >= 500)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("GridDispatch.Api");
            LogUnhandled(logger, error, context.Request.Method, context.Request.Path);
        }

        context.Response.StatusCode = problem.Status!.Value;
        await context.Response.WriteAsJsonAsync(problem, JsonBody.Options, "application/problem+json");
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception? ex, string method, string path);
}
