using GridDispatch.Domain;

namespace GridDispatch.Api.Auth;

/// <summary>What a caller sees of an incident or a worker, as <see cref="Policy"/> decides; the one place personal data is withheld.</summary>
public static class Access
{
    /// <summary>
    /// The incident as this caller may read it: whole, or without the reporter's name, phone and address and with the
    /// position rounded to about 100 m; a 403 when they may not read it at all.
    /// </summary>
    public static IncidentView Incident(Caller caller, IncidentView view, CategoryCatalog catalog) =>
        Shown(Policy.Require(caller, Act.IncidentRead, Target.Of(view, catalog)), view);

    /// <summary>
    /// The answer to a command that was allowed and has happened: the incident as the caller may now read it, or — when
    /// the command took it out of their sight (a hand-back by a pool worker of another grid) — only its id, state and version.
    /// </summary>
    public static object AfterCommand(Caller caller, IncidentView view, CategoryCatalog catalog) =>
        Policy.Decide(caller, Act.IncidentRead, Target.Of(view, catalog)) is { } decision
            ? Shown(decision, view)
            : new CommandReceipt(view.Id, view.State, view.Version);

    private static IncidentView Shown(Decision decision, IncidentView view) => decision.Sight == Sight.Full ? view : WithoutPersonalData(view);

    public static IncidentView WithoutPersonalData(IncidentView view) => view with
    {
        Reporter = null,
        Location = view.Location?.Coarse(),
        Timeline = [.. view.Timeline.Select(WithoutPersonalData)],
    };

    /// <summary>An entry without its report's reporter, and with the report's position rounded to about 100 m.</summary>
    public static TimelineEntry WithoutPersonalData(TimelineEntry e) => e.Report is null ? e : e with
    {
        Report = e.Report with
        {
            Reporter = null,
            Location = e.Report.Location?.Coarse(),
        },
    };

    /// <summary>A worker's record, for whoever <see cref="Act.WorkerRead"/> lets in.</summary>
    public static WorkerView Worker(Caller caller, WorkerView view)
    {
        Policy.Require(caller, Act.WorkerRead, Target.Of(view));
        return view;
    }
}

/// <summary>What a command answers when its result is no longer the caller's to read.</summary>
public sealed record CommandReceipt(string Id, IncidentState State, long Version);
