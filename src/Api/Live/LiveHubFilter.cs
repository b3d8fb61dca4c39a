using Microsoft.AspNetCore.SignalR;

namespace GridDispatch.Api.Live;

/// <summary>
/// Refused hub calls are outcomes, not faults: SignalR's dispatcher logs every exception a hub method throws at Error
/// with a stack trace, so its log category is silenced (<see cref="GridDispatchApiLogging.QuietHubDispatcher"/>) and this filter logs
/// instead — a refusal (<see cref="HubException"/>) at Debug without a stack, anything else at Error with it.
/// </summary>
public sealed partial class LiveHubFilter(ILogger<LiveHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext context, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(context);
        }
        catch (HubException e)
        {
            LogRefused(logger, context.HubMethodName, e.Message);
            throw;
        }
        catch (Exception e)
        {
            LogFault(logger, e, context.HubMethodName);
            throw;
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Debug, Message = "Hub call {Method} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Error, Message = "Hub call {Method} failed")]
    private static partial void LogFault(ILogger logger, Exception ex, string method);
}

/// <summary>Log categories the API quiets because it logs the same events itself, at the right level.</summary>
public static class GridDispatchApiLogging
{
    public const string HubDispatcher = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    /// <summary>
    /// Silences the dispatcher for every provider: a rule naming a provider beats one that does not, so besides the
    /// general rule each provider that has rules of its own gets one too (added last, after all configuration).
    /// </summary>
    public static void QuietHubDispatcher(LoggerFilterOptions options)
    {
        foreach (var provider in options.Rules.Select(r => r.ProviderName).Distinct().ToList())
        {
            options.Rules.Add(new LoggerFilterRule(provider, HubDispatcher, LogLevel.None, null));
        }

        if (!options.Rules.Any(r => r.ProviderName is null && r.CategoryName == HubDispatcher))
        {
            options.Rules.Add(new LoggerFilterRule(null, HubDispatcher, LogLevel.None, null));
        }
    }
}
