using Orleans.Runtime;
using Polly;
using Polly.Retry;

namespace GridDispatch.Api.Http;

/// <summary>
/// The API's boundary with the cluster: a command whose message was rejected on its way to a grain (its silo has just
/// died and the directory has not caught up — the command was not run) is run again, at most
/// <see cref="Attempts"/> more times with a short jittered backoff, before the caller is answered 503 with
/// Retry-After. Only before the response has started, and only for the API's own routes; the request body is
/// buffered so each attempt reads it whole. Commands are safe to repeat (reports by their key, steps by their state).
/// </summary>
public sealed class ClusterRetry(RequestDelegate next)
{
    public const int Attempts = 2;

    private static readonly ResiliencePipeline Pipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<OrleansMessageRejectionException>(),
            MaxRetryAttempts = Attempts,
            Delay = TimeSpan.FromMilliseconds(200),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api") && !context.Request.Path.StartsWithSegments("/open311"))
        {
            await next(context);
            return;
        }

        context.Request.EnableBuffering();
        try
        {
            await RunAsync(context);
        }
        catch (AlreadyAnswering e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!);
        }
    }

    private Task RunAsync(HttpContext context) => Pipeline.ExecuteAsync(static async (state, _) =>
        {
            var (ctx, run) = state;
            if (ctx.Request.Body.CanSeek)
            {
                ctx.Request.Body.Position = 0;
            }

            try
            {
                await run(ctx);
            }
            catch (OrleansMessageRejectionException e) when (ctx.Response.HasStarted)
            {
                throw new AlreadyAnswering(e); // part of an answer is out: a second run cannot take it back
            }
        }, (context, next), context.RequestAborted).AsTask();

    /// <summary>Carries a rejection past the retry once the response has started; unwrapped and rethrown as it was.</summary>
    private sealed class AlreadyAnswering(Exception inner) : Exception(inner.Message, inner);
}
