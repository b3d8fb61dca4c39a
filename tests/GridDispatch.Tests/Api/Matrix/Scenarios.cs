using System.Text;
using GridDispatch.Api.Auth;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api.Matrix;

/// <summary>A target made for one case: what the policy sees of it, how to read its state, and the request that acts on it.</summary>
public sealed record Subject(Target Facts, Func<Task<string>> Snapshot, Func<HttpRequestMessage> Request, string? HubTopic = null);

/// <summary>
/// How to set up and act on the target of each act, for one case: a city of its own per case (so no case sees another's
/// effects), the target brought into the state where the act is legal, so that an allowed call succeeds.
/// </summary>
public sealed class Scenarios(IGrainFactory grains, GridDispatch.Domain.CategoryCatalog catalog)
{
    public const string Reporter = "resident-reporter";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Func<HttpRequestMessage> Send(HttpMethod method, string path, string? body = null) =>
        () => new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };

    /// <summary>The scenario of an act; an act without one fails the matrix, so no act goes untested.</summary>
    public Func<Grant?, Task<Subject>>? For(Act act) => act switch
    {
        Act.IncidentReport => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid),
                Send(HttpMethod.Post, "/api/incidents", $"{{\"category\":\"0101\",\"severity\":\"routine\",\"gridCode\":\"{city.Grid}\",\"description\":\"matrix\"}}"));
        },
        Act.IncidentRead => g => IncidentAsync(g, Stage.Dispatched, id => Send(HttpMethod.Get, $"/api/incidents/{id}"), topic: id => $"incident:{id}"),
        Act.IncidentList => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid), Send(HttpMethod.Get, $"/api/incidents?grid={city.Grid}"));
        },
        Act.IncidentAccept => g => IncidentAsync(g, Stage.Reported, Action("accept")),
        Act.IncidentAssign => g => IncidentAsync(g, Stage.AwaitingAssignment, id => Send(HttpMethod.Post, $"/api/incidents/{id}/assign", $"{{\"workerId\":\"{_spare}\"}}")),
        Act.IncidentAcknowledge => g => IncidentAsync(g, Stage.Dispatched, Action("acknowledge")),
        Act.IncidentDecline => g => IncidentAsync(g, Stage.Dispatched, Action("decline")),
        Act.IncidentStart => g => IncidentAsync(g, Stage.Dispatched, Action("start")),
        Act.IncidentResolve => g => IncidentAsync(g, Stage.InProgress, Action("resolve")),
        Act.IncidentHandBack => g => IncidentAsync(g, Stage.Dispatched, Action("hand-back", "{\"reason\":\"needs a ladder\"}")),
        Act.IncidentVerify => g => IncidentAsync(g, Stage.Resolved, Action("verify")),
        Act.IncidentRework => g => IncidentAsync(g, Stage.Resolved, Action("rework", "{\"reason\":\"still there\"}")),
        Act.IncidentRate => g => IncidentAsync(g, Stage.Verified, Action("rate", "{\"stars\":4}")),
        Act.IncidentClose => g => IncidentAsync(g, Stage.Verified, Action("close")),
        Act.IncidentCancel => g => IncidentAsync(g, Stage.Dispatched, Action("cancel", "{\"reason\":\"reported twice\"}")),
        Act.IncidentDefer => g => IncidentAsync(g, Stage.Dispatched, Action("defer", "{\"reason\":\"waiting for parts\"}")),
        Act.IncidentResume => g => IncidentAsync(g, Stage.Deferred, Action("resume")),
        Act.IncidentEscalate => g => IncidentAsync(g, Stage.Dispatched, Action("escalate", "{\"reason\":\"beyond the grid\"}")),
        Act.IncidentErase => g => IncidentAsync(g, Stage.Dispatched, Action("erase-personal-data")),
        Act.RegionRead => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid), Send(HttpMethod.Get, $"/api/grids/{city.Grid}"), $"grid:{city.Grid}");
        },
        Act.RegionLoad => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid), Send(HttpMethod.Get, $"/api/regions/{city.Grid}/load"));
        },
        Act.RegionEmergency => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Community), () => TargetState.EmergencyAsync(grains, city.Street), Send(HttpMethod.Get, $"/api/regions/{city.Community}/emergency"));
        },
        Act.RegionMode => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Street), () => TargetState.EmergencyAsync(grains, city.Street),
                Send(HttpMethod.Post, $"/api/regions/{city.Street}/mode", "{\"mode\":\"emergency\",\"level\":\"IV\",\"reason\":\"drill\"}"));
        },
        Act.CampaignList => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.CampaignsAsync(grains, city.Code), Send(HttpMethod.Get, $"/api/campaigns?scope={city.Grid}"));
        },
        Act.CampaignRead => async _ =>
        {
            var (city, campaign) = await CampaignAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.CampaignAsync(grains, campaign), Send(HttpMethod.Get, $"/api/campaigns/{campaign}"));
        },
        Act.CampaignLaunch => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Street), () => TargetState.CampaignsAsync(grains, city.Code),
                Send(HttpMethod.Post, "/api/campaigns", $"{{\"scope\":\"{city.Street}\",\"kind\":\"sweep-buildings\",\"title\":\"matrix\"}}"));
        },
        Act.CampaignEnd => async _ =>
        {
            var (city, campaign) = await CampaignAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.CampaignAsync(grains, campaign), Send(HttpMethod.Post, $"/api/campaigns/{campaign}/end", "{\"reason\":\"done\"}"));
        },
        Act.TaskRead => _ => TaskAsync(started: false, id => Send(HttpMethod.Get, $"/api/campaigns/tasks/{id}")),
        Act.TaskStart => _ => TaskAsync(started: false, id => Send(HttpMethod.Post, $"/api/campaigns/tasks/{id}/start", "{}")),
        Act.TaskFinish => _ => TaskAsync(started: true, id => Send(HttpMethod.Post, $"/api/campaigns/tasks/{id}/finish", "{\"outcome\":\"done\"}")),
        Act.Surge => async _ =>
        {
            var city = await CityAsync();
            await grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Emergency, "IV", "matrix", "commander-m", city.Code));
            var volunteer = $"{city.Code}-volunteer";
            return new Subject(Target.RegionOf(city.Street), async () => $"{await TargetState.EmergencyAsync(grains, city.Street)} {await TargetState.ExistsAsync(grains, volunteer)}",
                Send(HttpMethod.Post, "/api/workers/surge", $"{{\"scope\":\"{city.Street}\",\"workers\":[{{\"id\":\"{volunteer}\",\"name\":\"V\",\"kind\":\"volunteer\"}}]}}"));
        },
        Act.WorkerRead => _ => WorkerAsync(id => Send(HttpMethod.Get, $"/api/workers/{id}"), topic: true),
        Act.WorkerStatus => _ => WorkerAsync(id => Send(HttpMethod.Put, $"/api/workers/{id}/status", "{\"status\":\"onPatrol\"}")),
        Act.WorkerLocation => _ => WorkerAsync(id => Send(HttpMethod.Put, $"/api/workers/{id}/location", "{\"latitude\":22.5,\"longitude\":114.1}")),
        Act.DepartmentRead => async _ =>
        {
            var city = await CityAsync();
            var key = RegionCode.DepartmentKey(city.Code, "city-management");
            return new Subject(Target.DepartmentOf(key), () => Task.FromResult(""), Send(HttpMethod.Get, $"/api/departments/{key}"));
        },
        Act.AuditRead => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => Task.FromResult(""), Send(HttpMethod.Get, $"/api/audit?region={city.Grid}"));
        },
        Act.EventsRead => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => Task.FromResult(""), Send(HttpMethod.Get, $"/api/events?region={city.Grid}"));
        },
        Act.KpiRead => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid), Send(HttpMethod.Get, $"/api/kpis/{city.Grid}"));
        },
        Act.CatalogueRead => _ => Task.FromResult(new Subject(Target.Nothing, () => Task.FromResult(""), Send(HttpMethod.Get, "/api/categories"))),
        Act.HouseholdRead => _ => HouseholdAsync(id => Send(HttpMethod.Get, $"/api/households/{id}")),
        Act.HouseholdRegister => _ => HouseholdAsync(_ => Send(HttpMethod.Post, $"/api/grids/{_grid}/households", "{\"building\":\"9栋\",\"unit\":\"901\",\"size\":2,\"tags\":[\"rented\"]}")),
        Act.HouseholdImport => _ => HouseholdAsync(_ => () => new HttpRequestMessage(HttpMethod.Post, $"/api/grids/{_grid}/households/import")
        {
            Content = new StringContent("building,unit,size,tags,name,phone\n9栋,902,3,,李雷,13900000002\n", Encoding.UTF8, "text/csv"),
        }),
        Act.HouseholdColour => _ => HouseholdAsync(id => Send(HttpMethod.Put, $"/api/households/{id}/colour", "{\"colour\":\"yellow\",\"reason\":\"matrix\"}")),
        Act.HouseholdVisit => _ => HouseholdAsync(id => Send(HttpMethod.Post, $"/api/households/{id}/visits", "{\"kind\":\"phone\",\"outcome\":\"ok\"}")),
        Act.HouseholdErase => _ => HouseholdAsync(id => Send(HttpMethod.Post, $"/api/households/{id}/people/{id}-p1/erase", "{\"reason\":\"moved away\"}")),
        Act.HouseholdSummary => async _ =>
        {
            var city = await CityAsync();
            return new Subject(Target.RegionOf(city.Grid), () => TargetState.GridAsync(grains, city.Grid), Send(HttpMethod.Get, $"/api/regions/{city.Grid}/households/summary"));
        },
        Act.OwnReports => _ => Task.FromResult(new Subject(Target.Nothing, () => Task.FromResult(""), Send(HttpMethod.Get, "/api/me/reports"))),
        Act.ClusterDashboard => _ => Task.FromResult(new Subject(Target.Nothing, () => Task.FromResult(""), Send(HttpMethod.Get, "/dashboard/"))),
        Act.PhotoUpload => _ => Task.FromResult(new Subject(Target.Nothing, () => Task.FromResult(""), () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/photos") { Content = new ByteArrayContent(PhotoApiTests.Picture(64, 48)) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/jpeg");
            return request;
        })),
        _ => null,
    };

    private string _grid = "";

    /// <summary>A household of the case's own city, with one person (personal data) in the register.</summary>
    private async Task<Subject> HouseholdAsync(Func<string, Func<HttpRequestMessage>> request)
    {
        var city = await CityAsync();
        _grid = city.Grid;
        await grains.GetGrain<IRegisterGrain>(0).ImportAsync(city.Grid, [new HouseholdInput("1栋", "101", 2, ["elderly-alone"], [new PersonInput("王芳", "13800000001")])], "leader-m", "matrix");
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        return new Subject(new Target($"household {id}", Region: city.Grid), () => TargetState.HouseholdAsync(grains, id), request(id));
    }

    private string _spare = "";

    private static Func<string, Func<HttpRequestMessage>> Action(string action, string body = "{}") =>
        id => Send(HttpMethod.Post, $"/api/incidents/{id}/{action}", body);

    private enum Stage { Reported, AwaitingAssignment, Dispatched, InProgress, Resolved, Verified, Deferred }

    /// <summary>
    /// A city of the case's own: two grid workers for rubbish and the like (class 01), a spare of another class, and the city
    /// management department with an officer (off duty unless the case needs the department to hold the incident).
    /// </summary>
    private async Task<TestCity> CityAsync(bool departmentHolds = false)
    {
        var city = TestCity.Create();
        city.Departments.Add(new City.DepartmentEntry("city-management", "City management bureau"));
        if (!departmentHolds)
        {
            city.AddWorker("w1", [city.Grid], categories: ["01"]);
            city.AddWorker("w2", [city.Grid], categories: ["01"]);
        }

        _spare = city.AddWorker("spare", [city.Grid], categories: ["05"]);
        city.AddWorker("officer", [], department: "city-management", categories: ["01"], status: WorkerStatus.OffDuty);
        return await city.LoadAsync(grains);
    }

    private async Task<Subject> IncidentAsync(Grant? grant, Stage stage, Func<string, Func<HttpRequestMessage>> request, Func<string, string>? topic = null)
    {
        // A department holds the incident only when the case is about the department it is with.
        var city = await CityAsync(departmentHolds: grant?.Relation == Relation.AssignedDepartment);
        var report = Reports.Make(city.Grid, category: stage == Stage.AwaitingAssignment ? "0601" : "0101",
            reporter: grant?.Relation == Relation.NoReporterInRegion ? null : Reporter);
        var incident = grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));
        var view = (await incident.ReportAsync(report)).Incident;
        if (stage != Stage.Reported)
        {
            view = await incident.AcceptAsync(new ActorCommand("leader-m"));
        }

        var holder = view.Assignee is { Kind: AssigneeKind.Worker } w ? w.Id : null;
        var department = view.Assignee is { Kind: AssigneeKind.Department } d ? d.Id : null;
        ActorCommand ByHolder(string? reason = null) => new(holder ?? "officer-m", reason, department);
        if (stage >= Stage.InProgress && stage != Stage.Deferred)
        {
            view = await incident.StartAsync(ByHolder());
        }

        if (stage >= Stage.Resolved && stage != Stage.Deferred)
        {
            view = await incident.ResolveAsync(ByHolder("done"));
        }

        if (stage == Stage.Verified)
        {
            view = await incident.VerifyAsync(new ActorCommand("leader-m"));
        }

        if (stage == Stage.Deferred)
        {
            view = await incident.DeferAsync(new DeferCommand("leader-m", "waiting"));
        }

        return new Subject(Target.Of(view, catalog), () => TargetState.IncidentAsync(grains, view.Id), request(view.Id), topic?.Invoke(view.Id));
    }

    private async Task<Subject> WorkerAsync(Func<string, Func<HttpRequestMessage>> request, bool topic = false)
    {
        var city = await CityAsync();
        var id = $"{city.Code}-w1";
        var view = await grains.GetGrain<IWorkerGrain>(id).GetAsync();
        return new Subject(Target.Of(view), () => TargetState.WorkerAsync(grains, id), request(id), topic ? $"worker:{id}" : null);
    }

    private async Task<(TestCity City, string Campaign)> CampaignAsync()
    {
        var city = await CityAsync();
        var id = $"cmp-m{city.Code}";
        await grains.GetGrain<ICampaignGrain>(id).LaunchAsync(new CampaignSpec(city.Grid, CampaignKind.SweepBuildings, "matrix", null, "commander-m", city.Code));
        return (city, id);
    }

    private async Task<Subject> TaskAsync(bool started, Func<string, Func<HttpRequestMessage>> request)
    {
        var (city, _) = await CampaignAsync();
        var worker = grains.GetGrain<IWorkerGrain>($"{city.Code}-w1");
        var tasks = await Eventually.Get(() => worker.GetAsync(), w => w.Tasks.Any(t => t.Campaign is not null), what: "a campaign task for w1");
        var id = tasks.Tasks.First(t => t.Campaign is not null).IncidentId;
        var grid = grains.GetGrain<IGridGrain>(city.Grid);
        if (started)
        {
            await grid.StartSweepTaskAsync(id, $"{city.Code}-w1");
        }

        var task = await grid.GetSweepTaskAsync(id);
        return new Subject(Target.Of(task), async () =>
        {
            var t = await grid.GetSweepTaskAsync(id);
            return $"{t.Status} {t.WorkerId} {t.History.Length}";
        }, request(id));
    }
}

/// <summary>A target's state as text, to compare before and after a call: what a command could change, nothing the system moves by itself.</summary>
public static class TargetState
{
    public static async Task<string> TaskAsync(IGrainFactory grains, string taskId)
    {
        var t = await grains.GridOf(taskId).GetSweepTaskAsync(taskId);
        return $"{t.Status} {t.WorkerId} {t.History.Length}";
    }

    public static async Task<string> IncidentAsync(IGrainFactory grains, string id)
    {
        var v = await grains.GetGrain<IIncidentGrain>(id).GetAsync();
        // The assignee's tasks and load, which a command on this incident could move; not their version or KPIs, which
        // their other incidents move by themselves (a closure told late by an earlier test).
        var load = v.Assignee is { Kind: AssigneeKind.Worker } w ? await WorkerTasksAsync(grains, w.Id) : "";
        return $"v{v.Version} {v.State} {v.Assignee} {v.Timeline.Length} {v.Rating} {v.Reporter?.Phone} | {load}";
    }

    private static async Task<string> WorkerTasksAsync(IGrainFactory grains, string id)
    {
        var w = await grains.GetGrain<IWorkerGrain>(id).GetAsync();
        return $"{w.Status} {w.Location} load {w.Load} tasks {string.Join(",", w.Tasks.Select(t => $"{t.IncidentId}:{t.Status}:{t.Severity}:{t.Weight}:{t.Overdue}:{t.Campaign}"))}";
    }

    public static async Task<string> WorkerAsync(IGrainFactory grains, string id)
    {
        var w = await grains.GetGrain<IWorkerGrain>(id).GetAsync();
        return $"v{w.Version} {w.Status} {w.Location} load {w.Load} tasks {string.Join(",", w.Tasks.Select(t => $"{t.IncidentId}:{t.Status}:{t.Severity}:{t.Weight}:{t.Overdue}:{t.Campaign}"))} kpi {w.Kpi.All}";
    }

    public static async Task<string> GridAsync(IGrainFactory grains, string code)
    {
        var g = await grains.GetGrain<IGridGrain>(code).GetAsync();
        return $"open {string.Join(",", g.OpenIncidents.Select(i => $"{i.Id}:{i.Version}"))} mode {g.Summary.Mode?.Mode}";
    }

    public static async Task<string> HouseholdAsync(IGrainFactory grains, string id)
    {
        var h = await grains.GetGrain<IHouseholdGrain>(id).GetAsync();
        var register = await grains.GetGrain<IRegisterGrain>(0).ListAsync(h.GridCode, null, null, 1, 50);
        return $"v{h.Version} {h.Colour} {string.Join(",", h.People.Select(p => $"{p.Name}:{p.Phone}:{p.ErasedAt}"))} log {h.Log.Length} register {register.Total}";
    }

    public static async Task<string> EmergencyAsync(IGrainFactory grains, string scope)
    {
        var e = await grains.GetGrain<IEmergencyGrain>(scope).GetAsync();
        return $"{e.Active} {e.Level} {e.SurgeWorkers} {e.Reports.Length}";
    }

    public static async Task<string> CampaignsAsync(IGrainFactory grains, string city) =>
        string.Join(",", (await grains.GetGrain<IOperationsDirectoryGrain>(city).CampaignsAsync(city)).Select(c => c.ToString()));

    public static async Task<string> CampaignAsync(IGrainFactory grains, string id)
    {
        var c = await grains.GetGrain<ICampaignGrain>(id).GetAsync(0);
        return $"{c.Status} {c.EndedAt} {c.Rounds.Length}";
    }

    public static async Task<string> ExistsAsync(IGrainFactory grains, string workerId)
    {
        try
        {
            return (await grains.GetGrain<IWorkerGrain>(workerId).GetAsync()).Profile.Id;
        }
        catch (DomainException e) when (e.Code == DomainErrors.NotFound)
        {
            return "none";
        }
    }
}
