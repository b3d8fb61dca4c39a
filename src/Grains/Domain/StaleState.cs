using Orleans.Storage;

namespace GridDispatch.Domain;

/// <summary>
/// A grain whose state write meets a newer version (another activation of it wrote since it read — a duplicate
/// activation after a partition, say) holds a stale copy: writing again can never succeed, and going on would serve
/// stale state. So the activation ends, and the next call finds the grain read afresh.
/// <para>
/// Calls: <see cref="StaleStateFilter"/> ends the activation and answers the caller with a conflict ("try again").
/// Timers and deactivation (write-behind flushes): <see cref="EndsActivation"/>.
/// </para>
/// </summary>
public static class StaleState
{
    public static bool IsStale(Exception ex) => ex is InconsistentStateException || ex.InnerException is InconsistentStateException;

    /// <summary>When <paramref name="ex"/> says the grain's copy is stale, ends the activation and says so.</summary>
    public static bool EndsActivation(this IGrainBase grain, Exception ex)
    {
        if (!IsStale(ex))
        {
            return false;
        }

        grain.GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError,
            "its stored state was written by another activation: this copy is stale"));
        return true;
    }
}

/// <summary>Ends the activation of a grain whose write met a newer version, and answers its caller with a conflict.</summary>
public sealed class StaleStateFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (StaleState.IsStale(ex))
        {
            context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError,
                "its stored state was written by another activation: this copy is stale"));
            throw new DomainException(DomainErrors.Conflict, $"{context.TargetId} changed elsewhere since it was read; try again");
        }
    }
}
