using GridDispatch.Api.Endpoints;

namespace GridDispatch.Api.Http;

/// <summary>
/// Answers expected refusals — domain refusals and requests that cannot be read or bound — inside the exception
/// handler, so they are outcomes rather than crashes: the same problem body as before (Open311's error array on
/// /open311 routes), logged at Debug without the exception (no stack trace). Anything else goes on to the exception
/// handler, which logs it at Error as a fault. (The exception handler logs every exception it sees at Error before it
/// calls its handler: that is why refusals must be caught before they reach it.)
/// </summary>
public sealed partial class RefusalMiddleware(RequestDelegate next, ILoggerFactory loggers)
{
    /// <summary>The log category of refusals, so an operator can turn them on alone.</summary>
    public const string LogCategory = "GridDispatch.Api.Refusals";

    private readonly ILogger _logger = loggers.CreateLogger(LogCategory);

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && Problems.RefusalOf(e) is { } problem)
        {
            await AnswerAsync(context, problem);
        }
    }

    private async Task AnswerAsync(HttpContext context, Microsoft.AspNetCore.Mvc.ProblemDetails problem)
    {
        var status = problem.Status!.Value;
        var field = problem.Extensions.TryGetValue("field", out var f) ? f as string : null;
        LogRefused(_logger, context.Request.Method, context.Request.Path, status, problem.Title, field, problem.Detail);
        context.Response.Clear();
        if (context.Request.Path.StartsWithSegments(Open311Endpoints.Prefix))
        {
            await Open311Endpoints.Error(status, field, problem.Detail ?? "").ExecuteAsync(context);
        }
        else
        {
            await Problems.WriteAsync(context, problem);
        }
    }

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Refused {Method} {Path} with {Status} {Code} on {Field}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string? code, string? field, string? detail);
}
