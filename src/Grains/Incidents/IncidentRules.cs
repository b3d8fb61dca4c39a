using System.Collections.Frozen;

namespace GridDispatch.Incidents;

/// <summary>The closed loop as a table: for each event, the states it may happen in and the state it leads to.</summary>
public static class IncidentRules
{
    private static readonly IncidentState[] Working = [IncidentState.Accepted, IncidentState.Dispatched, IncidentState.InProgress];

    private static readonly IncidentState[] NonTerminal =
        [.. Enum.GetValues<IncidentState>().Where(s => s is not (IncidentState.Closed or IncidentState.Cancelled))];

    /// <summary>Event → (allowed source states, target state; null target = stays where it is).</summary>
    public static readonly FrozenDictionary<IncidentEventKind, (IncidentState[] From, IncidentState? To)> Table =
        new Dictionary<IncidentEventKind, (IncidentState[], IncidentState?)>
        {
            [IncidentEventKind.Reported] = ([], IncidentState.Reported),
            [IncidentEventKind.Accepted] = ([IncidentState.Reported], IncidentState.Accepted),
            [IncidentEventKind.Dispatched] = ([IncidentState.Accepted], IncidentState.Dispatched),
            [IncidentEventKind.TaskAcknowledged] = ([IncidentState.Dispatched], null),
            [IncidentEventKind.TaskDeclined] = ([IncidentState.Dispatched], IncidentState.Accepted),
            [IncidentEventKind.AcceptanceTimedOut] = ([IncidentState.Dispatched], IncidentState.Accepted),
            [IncidentEventKind.HandedBack] = ([IncidentState.Dispatched, IncidentState.InProgress], IncidentState.Accepted),
            [IncidentEventKind.WorkStarted] = ([IncidentState.Dispatched], IncidentState.InProgress),
            [IncidentEventKind.Resolved] = ([IncidentState.InProgress], IncidentState.Resolved),
            [IncidentEventKind.Verified] = ([IncidentState.Resolved], IncidentState.Verified),
            [IncidentEventKind.ReturnedForRework] = ([IncidentState.Resolved], IncidentState.InProgress),
            [IncidentEventKind.Rated] = ([IncidentState.Verified], IncidentState.Rated),
            [IncidentEventKind.Closed] = ([IncidentState.Verified, IncidentState.Rated], IncidentState.Closed),
            [IncidentEventKind.Cancelled] = (
                [IncidentState.Reported, IncidentState.Accepted, IncidentState.Dispatched, IncidentState.InProgress, IncidentState.Deferred],
                IncidentState.Cancelled),
            [IncidentEventKind.Deferred] = (Working, IncidentState.Deferred),
            [IncidentEventKind.Resumed] = ([IncidentState.Deferred], IncidentState.Accepted),
            [IncidentEventKind.Escalated] = (Working, IncidentState.Accepted),
            [IncidentEventKind.DeadlineMissed] = (NonTerminal, null),
            [IncidentEventKind.AwaitingAssignment] = ([IncidentState.Accepted], null),
            [IncidentEventKind.Reassigned] = ([IncidentState.Dispatched], null),
            [IncidentEventKind.AttemptRefused] = (NonTerminal, null),
            [IncidentEventKind.PersonalDataErased] = (Enum.GetValues<IncidentState>(), null),
            [IncidentEventKind.Rescheduled] = (NonTerminal, null),
        }.ToFrozenDictionary();

    public static bool IsAllowed(IncidentEventKind kind, IncidentState from) => Table[kind].From.Contains(from);

    /// <summary>The state after <paramref name="kind"/>, or a refusal naming what is allowed.</summary>
    public static IncidentState Next(IncidentEventKind kind, IncidentState from)
    {
        var (allowed, to) = Table[kind];
        if (!allowed.Contains(from))
        {
            throw new DomainException(DomainErrors.IllegalTransition,
                allowed.Length == 0
                    ? $"{kind} cannot happen to an existing incident"
                    : $"{kind} is not allowed in state {from}; allowed in {string.Join(", ", allowed)}");
        }

        return to ?? from;
    }

    /// <summary>States in which the incident is work of its grid (counted for colour and overdue).</summary>
    public static bool IsWork(IncidentState s) =>
        s is IncidentState.Reported or IncidentState.Accepted or IncidentState.Dispatched or IncidentState.InProgress or IncidentState.Deferred;

    public static bool IsTerminal(IncidentState s) => s is IncidentState.Closed or IncidentState.Cancelled;
}
