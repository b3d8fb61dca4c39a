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

    /// <summary>
    /// The problem for an expected refusal, or null for a fault: a domain refusal, or a request the server could not
    /// read (Kestrel: a cut-off or oversized body) or bind (minimal APIs: a query or route value of the wrong type, a
    /// wrong content type). Other exceptions — InvalidDataException and FormatException included, which the engine
    /// throws for its own broken data — are faults.
    /// </summary>
    public static ProblemDetails? RefusalOf(Exception? error) => error switch
    {
        DomainException domain => ToProblem(domain),
        BadHttpRequestException { StatusCode: >= 400 and < 500 } bad => new ProblemDetails
        {
            Status = bad.StatusCode, Title = DomainErrors.InvalidInput, Detail = bad.Message, Extensions = { ["field"] = FieldOf(bad) },
        },
        _ => null,
    };

    /// <summary>
    /// The parameter a binding failure names (<c>Failed to bind parameter "int? page" from "abc".</c> → page);
    /// "body" when it names none (a body too large, cut off or of the wrong content type).
    /// </summary>
    internal static string FieldOf(BadHttpRequestException bad)
    {
        const string Marker = "parameter \"";
        var message = bad.Message;
        var start = message.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return "body";
        }

        start += Marker.Length;
        var end = message.IndexOf('"', start);
        if (end <= start)
        {
            return "body";
        }

        var declared = message[start..end];     // "{type} {name}"; a generic type may itself hold spaces
        var name = declared[(declared.LastIndexOf(' ') + 1)..];
        return name.Length > 0 ? name : "body";
    }

    /// <summary>The exception handler: domain refusals and bad requests keep their status; anything else is a bare 500.</summary>
    /// <remarks>Refusals normally never get here (<see cref="RefusalMiddleware"/> answers them first); this stays for any thrown outside it.</remarks>
    public static async Task WriteAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var problem = RefusalOf(error) ?? error switch
        {
            TimeoutException => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "unavailable", Detail = "The engine did not answer in time; try again." },
            StoreUnavailableException => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable, Title = "unavailable", Detail = "The store cannot take this now; nothing was changed. Try again.",
            },
            Orleans.Runtime.OrleansMessageRejectionException => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable, Title = "unavailable", Detail = "The engine is moving this work to another silo; try again.",
            },
            Photos.InsufficientStorageException => new ProblemDetails
            {
                Status = StatusCodes.Status507InsufficientStorage, Title = "insufficient-storage",
                Detail = "The embedded default's photo memory is full; photos need the durable (PostgreSQL) setup.",
            },
            _ => new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "internal-error" },
        };
        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "2";
        }

        if (problem.Status >= 500)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("GridDispatch.Api");
            LogUnhandled(logger, error, context.Request.Method, context.Request.Path);
        }

        await WriteAsync(context, problem);
    }

    internal static async Task WriteAsync(HttpContext context, ProblemDetails problem)
    {
        context.Response.StatusCode = problem.Status!.Value;
        await context.Response.WriteAsJsonAsync(problem, JsonBody.Options, "application/problem+json");
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception? ex, string method, string path);
}
