using GridDispatch.Domain;

namespace GridDispatch.Api.Auth;

/// <summary>What a caller may see of an incident and of a worker; the single place personal data is withheld.</summary>
public static class Access
{
    /// <summary>
    /// The incident as this caller may see it: its reporter, the assigned worker, a supervisor of its grid and the owning
    /// department see it whole; a worker of the same grid sees it without the reporter's name, phone and address and with
    /// the position rounded to about 100 m; anyone else is refused.
    /// </summary>
    public static IncidentView Incident(Caller caller, IncidentView view, CategoryCatalog catalog)
    {
        var reporter = view.Reporter?.Id is { Length: > 0 } r && r == caller.Id;
        var assignee = view.Assignee is { Kind: AssigneeKind.Worker } a && a.Id == caller.Id;
        var supervisor = caller.Supervises && caller.Covers(view.GridCode);
        var department = OwnsCategory(caller, view.GridCode, view.Category, catalog);
        if (reporter || assignee || supervisor || department)
        {
            return view;
        }

        if (caller.Role == CallerRole.Worker && caller.Covers(view.GridCode))
        {
            return WithoutPersonalData(view);
        }

        throw new DomainException(DomainErrors.NotAllowed, $"{caller.Id} may not see incident {view.Id}", "id");
    }

    /// <summary>A department officer of the city the grid is in, of the department that owns the category.</summary>
    public static bool OwnsCategory(Caller caller, string gridCode, string categoryCode, CategoryCatalog catalog) =>
        caller.Department is { } d && caller.Scope is { } scope
        && gridCode.StartsWith(scope[..scope.IndexOf(':', StringComparison.Ordinal)], StringComparison.Ordinal)
        && catalog.TryGet(categoryCode, out var category) && category.Department == d;

    public static IncidentView WithoutPersonalData(IncidentView view) => view with
    {
        Reporter = null,
        Location = view.Location?.Coarse(),
        Timeline = [.. view.Timeline.Select(e => e.Report is null ? e : e with
        {
            Report = e.Report with
            {
                Reporter = null,
                Location = e.Report.Location?.Coarse(),
            },
        })],
    };

    /// <summary>A worker's own record, or a supervisor's of a worker whose home is in their region.</summary>
    public static WorkerView Worker(Caller caller, WorkerView view)
    {
        var home = view.Profile.Units.IsDefaultOrEmpty ? null : view.Profile.Units[0];
        if (view.Profile.Id == caller.Id || (caller.Supervises && home is not null && caller.Covers(home))
            || (caller.Department is { } d && view.Profile.Department == d))
        {
            return view;
        }

        throw new DomainException(DomainErrors.NotAllowed, $"{caller.Id} may not see worker {view.Profile.Id}", "id");
    }
}
