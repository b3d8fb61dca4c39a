namespace GridDispatch;

/// <summary>
/// One incident (事件/案卷): its closed loop, deadlines and append-only timeline. Keyed by incident id.
/// Every command returns the incident as it stands afterwards, or throws <see cref="DomainException"/>
/// and changes nothing. Worker actions (acknowledge, decline, start, resolve, hand back) must come from
/// the assigned worker.
/// </summary>
[Alias("GridDispatch.IIncidentGrain")]
public interface IIncidentGrain : IGrainWithStringKey
{
    /// <summary>Intake. Idempotent: reporting an existing incident returns it unchanged.</summary>
    [Alias("Report")] Task<ReportResult> ReportAsync(IncidentReport report);

    [Alias("Get")] Task<IncidentView> GetAsync();

    /// <summary>Manual acceptance (事项受理), when intake does not accept automatically.</summary>
    [Alias("Accept")] Task<IncidentView> AcceptAsync(ActorCommand command);

    /// <summary>A dispatcher assigns a worker by hand (e.g. a commander at the top of the chain).</summary>
    [Alias("Assign")] Task<IncidentView> AssignAsync(AssignCommand command);

    [Alias("Acknowledge")] Task<IncidentView> AcknowledgeAsync(ActorCommand command);

    [Alias("Decline")] Task<IncidentView> DeclineAsync(ActorCommand command);

    [Alias("Start")] Task<IncidentView> StartAsync(ActorCommand command);

    /// <summary>The worker's feedback (结果反馈): the incident is resolved and awaits verification.</summary>
    [Alias("Resolve")] Task<IncidentView> ResolveAsync(ActorCommand command);

    [Alias("HandBack")] Task<IncidentView> HandBackAsync(ActorCommand command);

    [Alias("Verify")] Task<IncidentView> VerifyAsync(ActorCommand command);

    /// <summary>Verification failed: back to the same worker, counted as rework.</summary>
    [Alias("Rework")] Task<IncidentView> ReworkAsync(ActorCommand command);

    [Alias("Rate")] Task<IncidentView> RateAsync(RateCommand command);

    /// <summary>Archive (归档销号) a verified or rated incident.</summary>
    [Alias("Close")] Task<IncidentView> CloseAsync(ActorCommand command);

    [Alias("Cancel")] Task<IncidentView> CancelAsync(ActorCommand command);

    [Alias("Defer")] Task<IncidentView> DeferAsync(DeferCommand command);

    [Alias("Resume")] Task<IncidentView> ResumeAsync(ActorCommand command);

    /// <summary>The current level cannot handle it (out of its powers): pass it one level up.</summary>
    [Alias("Escalate")] Task<IncidentView> EscalateAsync(ActorCommand command);

    /// <summary>
    /// Moves the task off <see cref="MoveOff.WorkerId"/> to a fitting, less-loaded worker nearby if it is still that
    /// worker's and not started; otherwise, or when nobody nearby fits, nothing changes. One-way: workers ask, never wait.
    /// </summary>
    [OneWay, Alias("MoveOff")] Task MoveOffAsync(MoveOff request);

    /// <summary>
    /// Its deadline shard's sweeper found its recorded due time <paramref name="dueAt"/> passed: handle what is due
    /// (nothing, if it was already handled or the incident does not exist). A due time that is none of its deadlines was
    /// a tell's (news that must not be lost): what its timeline implies is told again.
    /// </summary>
    [Alias("Wake")] Task WakeAsync(DateTimeOffset dueAt);

    /// <summary>
    /// Erases the reporter's name, phone and address (kept apart from the timeline) and records that it happened; any
    /// state, idempotent. Who may ask is the API's policy.
    /// </summary>
    [Alias("ErasePersonalData")] Task<IncidentView> ErasePersonalDataAsync(ActorCommand command);

    /// <summary>Hands the whole timeline to the event log again (after the log had to drop entries); idempotent.</summary>
    [Alias("RepublishLog")] Task RepublishLogAsync();

    /// <summary>Acts on every deadline that has passed by the engine clock. Reminders and timers call it; idempotent.</summary>
    [Alias("CheckDeadlines")] Task<IncidentView> CheckDeadlinesAsync();
}
