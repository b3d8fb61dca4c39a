using System.Collections.Frozen;
using System.Text;

namespace GridDispatch.Api.Auth;

/// <summary>Everything a caller can ask of the API or the hub. A hub subscription is the read of its topic's entity.</summary>
public enum Act
{
    IncidentReport,
    IncidentRead,
    IncidentList,
    IncidentAccept,
    IncidentAssign,
    IncidentAcknowledge,
    IncidentDecline,
    IncidentStart,
    IncidentResolve,
    IncidentHandBack,
    IncidentVerify,
    IncidentRework,
    IncidentRate,
    IncidentClose,
    IncidentCancel,
    IncidentDefer,
    IncidentResume,
    IncidentEscalate,
    IncidentErase,
    RegionRead,
    RegionLoad,
    RegionEmergency,
    RegionMode,
    CampaignList,
    CampaignRead,
    CampaignLaunch,
    CampaignEnd,
    TaskRead,
    TaskStart,
    TaskFinish,
    Surge,
    WorkerRead,
    WorkerStatus,
    WorkerLocation,
    DepartmentRead,
    AuditRead,
    KpiRead,
    CatalogueRead,
    HouseholdRead,
    HouseholdRegister,
    HouseholdImport,
    HouseholdColour,
    HouseholdVisit,
    HouseholdErase,
    HouseholdSummary,
    PhotoUpload,
    OwnReports,
    ClusterDashboard,
    EventsRead,
}

/// <summary>How the caller must stand to the target for a grant to apply.</summary>
public enum Relation
{
    /// <summary>Any signed-in caller.</summary>
    Anyone,

    /// <summary>The target's region or grid lies in the caller's region (a worker's region is their grid).</summary>
    InRegion,

    /// <summary>The unit an incident is at now (grid, or the region it was escalated to) lies in the caller's region.</summary>
    InUnit,

    /// <summary>The caller is the worker the incident is assigned to.</summary>
    Assignee,

    /// <summary>The incident is assigned to, or queued at, the caller's department.</summary>
    AssignedDepartment,

    /// <summary>The caller's department owns the incident's category, in the caller's city.</summary>
    OwningDepartment,

    /// <summary>The caller reported the incident.</summary>
    Reporter,

    /// <summary>The incident has no reporter to speak for themself (hotline, patrol, sensor) and lies in the caller's region.</summary>
    NoReporterInRegion,

    /// <summary>The target worker is the caller.</summary>
    Self,

    /// <summary>The target worker's home unit lies in the caller's region.</summary>
    Home,

    /// <summary>The target department is the caller's.</summary>
    OwnDepartment,

    /// <summary>The target department's city lies in the caller's region.</summary>
    DepartmentCity,

    /// <summary>The campaign task is assigned to the caller.</summary>
    TaskHolder,

    /// <summary>The target region lies in the city the caller's department serves.</summary>
    DepartmentCityRegion,
}

/// <summary>What a grant lets the caller see of an incident: all of it, or without the reporter's personal data.</summary>
public enum Sight
{
    Full,
    Redacted,
}

/// <summary>One cell of the table: a role may do the act when it stands in this relation to the target.</summary>
public sealed record Grant(CallerRole Role, Relation Relation, Sight Sight = Sight.Full);

/// <summary>
/// The facts of a target the policy looks at, read from the engine before any command is sent. Every field is optional:
/// a relation whose fact is missing does not hold.
/// </summary>
public sealed record Target(
    string Describe,
    string? Region = null,
    string? Unit = null,
    string? AssignedWorker = null,
    string? AssignedDepartment = null,
    string? OwningDepartment = null,
    string? Reporter = null,
    string? WorkerId = null,
    string? WorkerHome = null,
    string? Department = null,
    string? TaskHolder = null)
{
    public static Target Of(IncidentView v, Domain.CategoryCatalog catalog) => new(
        $"incident {v.Id}", Region: v.GridCode, Unit: v.LevelCode,
        AssignedWorker: v.Assignee is { Kind: AssigneeKind.Worker } w ? w.Id : null,
        AssignedDepartment: v.Assignee is { Kind: AssigneeKind.Department } d ? d.Id : null,
        OwningDepartment: catalog.TryGet(v.Category, out var category) && category.Department.Length > 0 ? category.Department : null,
        Reporter: v.Reporter?.Id is { Length: > 0 } r ? r : null);

    public static Target Of(WorkerView v) => new(
        $"worker {v.Profile.Id}", WorkerId: v.Profile.Id, WorkerHome: v.Profile.Home);

    public static Target Of(SweepTaskView t) => new($"campaign task {t.TaskId}", Region: t.GridCode, TaskHolder: t.WorkerId);

    public static Target RegionOf(string code) => new($"region {code}", Region: code);

    public static Target DepartmentOf(string key) => new($"department {key}", Department: key);

    public static readonly Target Nothing = new("the API");
}

/// <summary>The outcome: which grant let the caller in (and so what they see).</summary>
public sealed record Decision(Act Act, Grant Grant)
{
    public Sight Sight => Grant.Sight;
}

/// <summary>
/// Who may do what: one table, role × act → the relation to the target that must hold. The API asks it before any
/// command reaches a grain; the grains check again what only they know at the moment of the command (the assignee,
/// the reporter, whether a worker serves the unit). README's access section is rendered from this table.
/// </summary>
public static class Policy
{
    private static readonly CallerRole[] Supervisors =
        [CallerRole.GridLeader, CallerRole.CommunityAdmin, CallerRole.StreetAdmin, CallerRole.DistrictAdmin, CallerRole.Commander];

    private static readonly CallerRole[] Administrators =
        [CallerRole.CommunityAdmin, CallerRole.StreetAdmin, CallerRole.DistrictAdmin, CallerRole.Commander];

    private static Grant[] Each(CallerRole[] roles, Relation relation) => [.. roles.Select(r => new Grant(r, relation))];

    private static Grant[] Staff(Relation worker, Relation supervisors) =>
        [new Grant(CallerRole.Worker, worker), .. Each(Supervisors, supervisors)];

    private static readonly Grant[] Supervision = Each(Supervisors, Relation.InRegion);

    /// <summary>Steps that decide where the case goes or whether it is worked at all: for the supervisors of the unit it is at now.</summary>
    private static readonly Grant[] UnitSupervision = Each(Supervisors, Relation.InUnit);

    private static readonly Grant[] WorkerStep =
        [new(CallerRole.Worker, Relation.Assignee), new(CallerRole.Department, Relation.AssignedDepartment)];

    private static readonly Grant[] Command = [new(CallerRole.Commander, Relation.InRegion)];

    private static readonly Grant[] Everyone = [.. Enum.GetValues<CallerRole>().Select(r => new Grant(r, Relation.Anyone))];

    /// <summary>Act → grants, in the order they are tried (the first that holds decides what the caller sees).</summary>
    public static readonly FrozenDictionary<Act, Grant[]> Table = new Dictionary<Act, Grant[]>
    {
        [Act.IncidentReport] = [new(CallerRole.Resident, Relation.Anyone), .. Staff(Relation.InRegion, Relation.InRegion)],
        [Act.IncidentRead] =
        [
            new(CallerRole.Resident, Relation.Reporter),
            new(CallerRole.Worker, Relation.Assignee), new(CallerRole.Worker, Relation.InRegion, Sight.Redacted),
            .. Supervision,
            new(CallerRole.Department, Relation.AssignedDepartment), new(CallerRole.Department, Relation.OwningDepartment, Sight.Redacted),
        ],
        [Act.IncidentList] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.IncidentAccept] = Supervision,
        [Act.IncidentAssign] = UnitSupervision,
        [Act.IncidentAcknowledge] = WorkerStep,
        [Act.IncidentDecline] = WorkerStep,
        [Act.IncidentStart] = WorkerStep,
        [Act.IncidentResolve] = WorkerStep,
        [Act.IncidentHandBack] = WorkerStep,
        [Act.IncidentVerify] = Supervision,
        [Act.IncidentRework] = Supervision,
        [Act.IncidentRate] = [new(CallerRole.Resident, Relation.Reporter), .. Each(Supervisors, Relation.NoReporterInRegion)],
        [Act.IncidentClose] = Supervision,
        [Act.IncidentCancel] = UnitSupervision,
        [Act.IncidentDefer] = UnitSupervision,
        [Act.IncidentResume] = UnitSupervision,
        [Act.IncidentEscalate] = UnitSupervision,
        [Act.IncidentErase] =
            [new(CallerRole.Resident, Relation.Reporter), new(CallerRole.DistrictAdmin, Relation.InRegion), new(CallerRole.Commander, Relation.InRegion)],
        [Act.RegionRead] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.RegionLoad] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.RegionEmergency] = Each(Administrators, Relation.InRegion),
        [Act.RegionMode] = Command,
        [Act.CampaignList] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.CampaignRead] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.CampaignLaunch] = Command,
        [Act.CampaignEnd] = Command,
        [Act.TaskRead] = [new(CallerRole.Worker, Relation.TaskHolder), .. Staff(Relation.InRegion, Relation.InRegion)],
        [Act.TaskStart] = [new(CallerRole.Worker, Relation.TaskHolder)],
        [Act.TaskFinish] = [new(CallerRole.Worker, Relation.TaskHolder)],
        [Act.Surge] = Command,
        [Act.WorkerRead] = Staff(Relation.Self, Relation.Home),
        [Act.WorkerStatus] = Staff(Relation.Self, Relation.Home),
        [Act.WorkerLocation] = [new(CallerRole.Worker, Relation.Self)],
        [Act.DepartmentRead] = [new(CallerRole.Department, Relation.OwnDepartment), new(CallerRole.Commander, Relation.DepartmentCity)],
        [Act.AuditRead] = Each(Administrators, Relation.InRegion),
        [Act.KpiRead] = Everyone,
        [Act.CatalogueRead] = Everyone,

        // The register holds personal data: the grid's own workers and leader, and the supervisors above them, only.
        [Act.HouseholdRead] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.HouseholdRegister] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.HouseholdImport] = Supervision,
        [Act.HouseholdColour] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.HouseholdVisit] = Staff(Relation.InRegion, Relation.InRegion),
        [Act.HouseholdErase] = [new(CallerRole.DistrictAdmin, Relation.InRegion), new(CallerRole.Commander, Relation.InRegion)],
        [Act.HouseholdSummary] = Staff(Relation.InRegion, Relation.InRegion),

        // Anyone signed in may stage a photo; who sees it once used is who may read what it was used for.
        [Act.PhotoUpload] = Everyone,

        // What the caller reported themself: only ever their own list, so anyone signed in may ask.
        [Act.OwnReports] = Everyone,

        // The Orleans dashboard shows the whole cluster (grain counts, calls, silos: no personal data, no region's
        // cases): the people who run operations, commanders and administrators, wherever they command.
        [Act.ClusterDashboard] = Each(Administrators, Relation.Anyone),     // Administrators include commanders

        // The change feed: every entry of every incident in a region, for the supervisors of that region; a department's
        // system reads its own categories' incidents in its city, without the reporters (the feed filters to them).
        [Act.EventsRead] = [.. Supervision, new(CallerRole.Department, Relation.DepartmentCityRegion, Sight.Redacted)],
    }.ToFrozenDictionary();

    /// <summary>The grant that lets <paramref name="caller"/> do <paramref name="act"/> on <paramref name="target"/>, or null.</summary>
    public static Decision? Decide(Caller caller, Act act, Target target) =>
        Table[act].FirstOrDefault(g => g.Role == caller.Role && Holds(caller, g.Relation, target)) is { } grant ? new Decision(act, grant) : null;

    /// <summary>The decision, or a 403 naming the act and the target.</summary>
    public static Decision Require(Caller caller, Act act, Target target, string field = "id") =>
        Decide(caller, act, target)
        ?? throw new DomainException(DomainErrors.NotAllowed,
            $"{caller.Id} ({Caller.RoleName(caller.Role)} of {caller.Scope ?? "no region"}) may not {Describe(act)} {target.Describe}", field);

    public static bool Holds(Caller caller, Relation relation, Target t) => relation switch
    {
        Relation.Anyone => true,
        Relation.InRegion => t.Region is { } region && caller.Covers(region),
        Relation.InUnit => t.Unit is { } unit && caller.Covers(unit),
        Relation.Assignee => t.AssignedWorker is { } worker && worker == caller.Id,
        Relation.AssignedDepartment => t.AssignedDepartment is { } department && department == caller.Scope,
        Relation.OwningDepartment => t.OwningDepartment is { Length: > 0 } owner && caller.Department == owner && t.Region is { } grid
            && caller.City is { } city && grid.StartsWith(city, StringComparison.Ordinal),
        Relation.Reporter => t.Reporter is { } reporter && reporter == caller.Id,
        Relation.NoReporterInRegion => t.Reporter is null && t.Region is { } region && caller.Covers(region),
        Relation.Self => t.WorkerId is { } id && id == caller.Id,
        Relation.Home => t.WorkerHome is { } home && caller.Covers(home),
        Relation.OwnDepartment => t.Department is { } key && key == caller.Scope,
        Relation.DepartmentCity => t.Department is { } key && key.IndexOf(':', StringComparison.Ordinal) is 4 && caller.Covers(key[..4]),
        Relation.TaskHolder => t.TaskHolder is { } holder && holder == caller.Id,
        Relation.DepartmentCityRegion => t.Region is { } region && caller.City is { } city && region.StartsWith(city, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>"hand back" for <see cref="Act.IncidentHandBack"/>: the act in words, for refusals and the README table.</summary>
    public static string Describe(Act act)
    {
        var name = act.ToString();
        var words = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }

            words.Append(char.ToLowerInvariant(c));
        }

        return words.ToString();
    }

    private static string RelationText(Relation r) => r switch
    {
        Relation.Anyone => "yes",
        Relation.InRegion => "in region",
        Relation.InUnit => "at a unit in region",
        Relation.Assignee => "assignee",
        Relation.AssignedDepartment => "assigned to their dept",
        Relation.OwningDepartment => "dept owns category",
        Relation.Reporter => "reporter",
        Relation.NoReporterInRegion => "on behalf, if no reporter",
        Relation.Self => "self",
        Relation.Home => "home in region",
        Relation.OwnDepartment => "own dept",
        Relation.DepartmentCity => "dept of their city",
        Relation.TaskHolder => "task holder",
        Relation.DepartmentCityRegion => "own categories in their city",
        _ => r.ToString(),
    };

    /// <summary>The table as Markdown (role columns), as README shows it.</summary>
    public static string Markdown()
    {
        var roles = Enum.GetValues<CallerRole>();
        var text = new StringBuilder();
        text.Append("| act | ").AppendJoin(" | ", roles.Select(Caller.RoleName)).AppendLine(" |");
        text.Append("| --- |").Append(string.Concat(roles.Select(_ => " --- |"))).AppendLine();
        foreach (var (act, grants) in Table.OrderBy(kv => kv.Key))
        {
            text.Append("| ").Append(Describe(act)).Append(" |");
            foreach (var role in roles)
            {
                var cells = grants.Where(g => g.Role == role)
                    .Select(g => RelationText(g.Relation) + (g.Sight == Sight.Redacted ? " (redacted)" : ""));
                text.Append(' ').AppendJoin(", ", cells).Append(" |");
            }

            text.AppendLine();
        }

        return text.ToString();
    }
}
