namespace GridDispatch;

/// <summary>Levels of the region tree, ordered bottom-up so that escalation is "level + 1".</summary>
public enum RegionLevel
{
    /// <summary>Unit grid (网格).</summary>
    Grid = 0,
    /// <summary>Community (社区).</summary>
    Community = 1,
    /// <summary>Street (街道).</summary>
    Street = 2,
    /// <summary>District (区).</summary>
    District = 3,
    /// <summary>City (市).</summary>
    City = 4,
}

/// <summary>The "1+6+N" worker kinds.</summary>
public enum WorkerKind
{
    FullTime = 0,
    Professional = 1,
    PartTime = 2,
    Volunteer = 3,
    Cadre = 4,
    /// <summary>Property-management staff joining a grid in an emergency.</summary>
    PropertyStaff = 5,
}

public enum WorkerStatus
{
    OffDuty = 0,
    Available = 1,
    Busy = 2,
    OnPatrol = 3,
}

public enum Severity
{
    Routine = 0,
    Urgent = 1,
    Critical = 2,
}

/// <summary>States of the closed loop (事项受理 → 归档销号).</summary>
public enum IncidentState
{
    Reported = 0,
    Accepted = 1,
    Dispatched = 2,
    InProgress = 3,
    Resolved = 4,
    Verified = 5,
    Rated = 6,
    Closed = 7,
    Cancelled = 8,
    Deferred = 9,
}

/// <summary>Three-colour status of a grid or region.</summary>
public enum Colour
{
    Green = 0,
    Yellow = 1,
    Red = 2,
}

public enum AssigneeKind
{
    None = 0,
    Worker = 1,
    Department = 2,
}

/// <summary>What a deadline guards.</summary>
public enum DeadlineKind
{
    /// <summary>A reported incident must be accepted (manual acceptance only).</summary>
    Accept = 0,
    /// <summary>A dispatched worker must acknowledge the task, or it is re-dispatched.</summary>
    TaskAcceptance = 1,
    /// <summary>The level holding the incident must resolve it, or it escalates.</summary>
    Handle = 2,
    /// <summary>A resolved incident must be verified.</summary>
    Verify = 3,
    /// <summary>The reporter may rate until then; afterwards the incident is archived unrated.</summary>
    Rating = 4,
    /// <summary>Routing failed (a grain was unreachable); try again.</summary>
    RouteRetry = 5,
    /// <summary>
    /// Bookkeeping of the outbox, not a fact of the case: what a commit must tell others (a former worker, a queue, the
    /// grid of a finished incident) was not heard yet; its due time wakes the incident to tell again, also after a crash.
    /// </summary>
    Tell = 6,
}

/// <summary>The worker's view of one task.</summary>
public enum TaskStatus
{
    Offered = 0,
    Acknowledged = 1,
    InProgress = 2,
    Resolved = 3,
    Closed = 4,
    Removed = 5,
}

/// <summary>Past-tense names of everything that can happen to an incident; each is one timeline entry.</summary>
public enum IncidentEventKind
{
    Reported = 0,
    Accepted = 1,
    Dispatched = 2,
    TaskAcknowledged = 3,
    TaskDeclined = 4,
    AcceptanceTimedOut = 5,
    HandedBack = 6,
    WorkStarted = 7,
    Resolved = 8,
    Verified = 9,
    ReturnedForRework = 10,
    Rated = 11,
    Closed = 12,
    Cancelled = 13,
    Deferred = 14,
    Resumed = 15,
    Escalated = 16,
    DeadlineMissed = 17,
    AwaitingAssignment = 18,
    /// <summary>An unstarted task moved from an overloaded or off-duty worker to another one.</summary>
    Reassigned = 19,
    /// <summary>A worker step by someone who is not the assignee was refused (a race between two workers); state unchanged.</summary>
    AttemptRefused = 20,

    /// <summary>The reporter's name, phone and address were erased (the timeline never held them; this records that it happened).</summary>
    PersonalDataErased = 21,

    /// <summary>
    /// The next deadline moved without another fact (a routing retry after the chain could not be reached): recorded so
    /// the deadline, which is data in the timeline, is where the sweeper finds it. State unchanged.
    /// </summary>
    Rescheduled = 22,
}

/// <summary>Everyday or emergency operation (平战结合).</summary>
public enum Mode
{
    Everyday = 0,
    Emergency = 1,
}
