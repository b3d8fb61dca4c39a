using GridDispatch.Domain;

namespace GridDispatch.Regions;

[GenerateSerializer, Alias("GridDispatch.DepartmentRecord.v1")]
public sealed class DepartmentRecord
{
    [Id(0)] public DepartmentDefinition? Definition { get; set; }
    [Id(1)] public Roster Staff { get; set; } = new();
    [Id(2)] public HashSet<string> Queue { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A functional department's queue. When a street (or higher) blows the whistle, the department reports: it assigns its
/// least-loaded fitting staff member, or keeps the incident in its own queue; it never passes it on. Holds and releases
/// interleave and share writes (<see cref="SharedWrite"/>): a busy department stores its queue once per write, not once
/// per incident. Bound: the queue holds the incidents summoning this department that no staff member has taken.
/// </summary>
public sealed class DepartmentGrain(
    [PersistentState("department", GridDispatchStorage.Name)] IPersistentState<DepartmentRecord> store,
    Microsoft.Extensions.Options.IOptions<DispatchOptions> options) : Grain, IDepartmentGrain
{
    private readonly SharedWrite _write = new(store.WriteStateAsync);

    private DepartmentRecord S => store.State;

    private string Code => this.GetPrimaryKeyString();

    public async Task<DepartmentDefinition> DefineAsync(DepartmentDefinition definition)
    {
        if (definition.Code != Code || string.IsNullOrWhiteSpace(definition.Name))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"A department needs a name and its code must be the key {Code}", "code");
        }

        S.Definition = definition;
        await _write.WriteAsync();
        return definition;
    }

    public Task<DepartmentView> GetAsync() => Task.FromResult(new DepartmentView(
        S.Definition ?? new DepartmentDefinition(Code, Code),
        [.. S.Staff.Entries.Values.OrderBy(e => e.WorkerId, StringComparer.Ordinal)],
        [.. S.Queue.Order(StringComparer.Ordinal)]));

    public Task<RouteOutcome> RouteAsync(RouteRequest request)
    {
        // Departments have no mode of their own: their staff are dispatched on the everyday policy.
        if (S.Staff.Pick(request, options.Value.Everyday) is { } pick)
        {
            S.Staff.Reserve(pick.WorkerId, request.Weight);
            return Task.FromResult(new RouteOutcome(RegionLevel.City, Code, Assignee.Worker(pick.WorkerId), request.Passes));
        }

        // The incident, once stored as summoning the department, holds itself in the queue (HoldAsync).
        return Task.FromResult(new RouteOutcome(RegionLevel.City, Code, Assignee.Department(Code), request.Passes));
    }

    public async Task HoldAsync(string incidentId)
    {
        if (S.Queue.Add(incidentId))
        {
            await _write.WriteAsync();
        }
    }

    public async Task ReleaseAsync(string incidentId)
    {
        if (S.Queue.Remove(incidentId))
        {
            await _write.WriteAsync();
        }
    }

    public async Task JoinRosterAsync(RosterEntry entry)
    {
        S.Staff.Join(entry);
        await _write.WriteAsync();
    }

    public async Task LeaveRosterAsync(string workerId)
    {
        if (S.Staff.Leave(workerId))
        {
            await _write.WriteAsync();
        }
    }

    public Task WorkerChangedAsync(RosterEntry entry)
    {
        S.Staff.Update(entry);
        return Task.CompletedTask;
    }
}
