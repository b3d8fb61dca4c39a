namespace GridDispatch.Domain;

/// <summary>Dispatch and escalation policy (section "GridDispatch:Dispatch").</summary>
public sealed class DispatchOptions
{
    public const string Section = "GridDispatch:Dispatch";

    /// <summary>Accept incidents at intake without a human acceptor.</summary>
    public bool AutoAccept { get; set; } = true;

    /// <summary>Archive an incident as soon as the reporter has rated it.</summary>
    public bool ArchiveAfterRating { get; set; } = true;

    /// <summary>Load one campaign task (a building or household) adds to its worker.</summary>
    public int CampaignTaskWeight { get; set; } = 1;

    /// <summary>When a campaign round issued once is due (a scheduled one is due when the next round starts).</summary>
    public TimeSpan CampaignRoundDuration { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How often an emergency episode samples its scope's load for the peaks of its report.</summary>
    public TimeSpan EpisodeSampleInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A grid asks an overloaded worker to shed incident tasks at most this often.</summary>
    public TimeSpan ShedInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Load a task adds to a worker, by severity.</summary>
    public int RoutineWeight { get; set; } = 1;
    public int UrgentWeight { get; set; } = 2;
    public int CriticalWeight { get; set; } = 3;

    /// <summary>How long a dispatched worker has to acknowledge a task before it moves on (wall clock).</summary>
    public TimeSpan RoutineAcceptanceTimeout { get; set; } = TimeSpan.FromMinutes(30);
    public TimeSpan UrgentAcceptanceTimeout { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan CriticalAcceptanceTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Urgent and critical incidents run on the wall clock, capped at these handling limits.</summary>
    public TimeSpan UrgentHandleCap { get; set; } = TimeSpan.FromHours(4);
    public TimeSpan CriticalHandleCap { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Multiplier of the category's handling limit at each level above the grid (community, street, district, city).</summary>
    public double EscalatedLevelFactor { get; set; } = 1.0;

    /// <summary>From this level up, a region with no fitting staff of its own summons the owning department.</summary>
    public RegionLevel DepartmentFromLevel { get; set; } = RegionLevel.Street;

    /// <summary>How long the reporter may rate a verified incident before it is archived unrated.</summary>
    public TimeSpan RatingWindow { get; set; } = TimeSpan.FromDays(3);

    /// <summary>Retry delay when routing could not reach a grain.</summary>
    public TimeSpan RouteRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often each deadline shard's sweeper looks for passed due times: how late, at most, a deadline fires for an
    /// incident that is not active (an active one fires on its own timer, on time).
    /// </summary>
    public TimeSpan DeadlineSweepInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A worker's tasks and load are stored write-behind, at most this long after a change (and when the worker
    /// deactivates): what a crash can cost is this much of a worker's task list, which its incidents restore.
    /// </summary>
    public TimeSpan WorkerFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A worker reports its load and status to its units and pools at once when it has not reported for this long,
    /// otherwise once at the end of this interval with its newest state: a busy worker costs its units at most a few
    /// messages a second, however many tasks it changes. (Units reserve load as they pick, so a report that is a
    /// moment late does not lead them to overfill a worker; the worker also refuses an offer beyond its capacity.)
    /// </summary>
    public TimeSpan WorkerReportInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// When a commit implies news someone must hear (a former worker losing the task, a queue gaining or losing it, the
    /// grid of a finished incident), its due time is at most this far ahead until they heard it: if the silo dies before
    /// telling, the sweeper wakes the incident to tell again. Failed tells are retried from this delay, doubling up to
    /// five minutes.
    /// </summary>
    public TimeSpan TellRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many times one routing attempt re-picks after workers refuse an offer.</summary>
    public int MaxOfferAttempts { get; set; } = 5;

    /// <summary>Grids and regions push their summaries up at most this often.</summary>
    public TimeSpan RollupInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Policy in everyday operation (section "GridDispatch:Dispatch:Everyday").</summary>
    public ModePolicy Everyday { get; set; } = new()
    {
        Eligible = [WorkerKind.FullTime, WorkerKind.Professional, WorkerKind.PartTime],
    };

    /// <summary>Policy in emergency operation (平战结合): shorter deadlines, fuller workers, volunteers and cadres eligible.</summary>
    public ModePolicy Emergency { get; set; } = new()
    {
        HandleFactor = 0.5,
        AcceptanceFactor = 0.5,
        OverloadedAt = 1.5,
        DispatchFromPool = true,
        RefusalsBeforeEscalation = 1,
        Eligible = [WorkerKind.FullTime, WorkerKind.Professional, WorkerKind.PartTime, WorkerKind.Volunteer, WorkerKind.Cadre, WorkerKind.PropertyStaff],
    };

    public ModePolicy PolicyFor(Mode mode) => mode == Mode.Emergency ? Emergency : Everyday;

    /// <summary>What the dispatch settings must hold (the handling limits' codes and values are checked beside these).</summary>
    public static SettingRules<DispatchOptions> Rules => new SettingRules<DispatchOptions>(Section)
        .Between(nameof(CampaignTaskWeight), o => o.CampaignTaskWeight, 1, 100)
        .Between(nameof(RoutineWeight), o => o.RoutineWeight, 1, 100)
        .Between(nameof(UrgentWeight), o => o.UrgentWeight, 1, 100)
        .Between(nameof(CriticalWeight), o => o.CriticalWeight, 1, 100)
        .AtLeast(nameof(RoutineAcceptanceTimeout), o => o.RoutineAcceptanceTimeout, TimeSpan.FromSeconds(1))
        .AtLeast(nameof(UrgentAcceptanceTimeout), o => o.UrgentAcceptanceTimeout, TimeSpan.FromSeconds(1))
        .AtLeast(nameof(CriticalAcceptanceTimeout), o => o.CriticalAcceptanceTimeout, TimeSpan.FromSeconds(1))
        .AtLeast(nameof(UrgentHandleCap), o => o.UrgentHandleCap, TimeSpan.FromMinutes(1))
        .AtLeast(nameof(CriticalHandleCap), o => o.CriticalHandleCap, TimeSpan.FromMinutes(1))
        .AtLeast(nameof(CampaignRoundDuration), o => o.CampaignRoundDuration, TimeSpan.FromMinutes(1))
        .AtLeast(nameof(RatingWindow), o => o.RatingWindow, TimeSpan.FromMinutes(1))
        .Between(nameof(EscalatedLevelFactor), o => o.EscalatedLevelFactor, 0.1, 10)
        .AtLeast(nameof(EpisodeSampleInterval), o => o.EpisodeSampleInterval, TimeSpan.FromMilliseconds(100))
        .AtLeast(nameof(ShedInterval), o => o.ShedInterval, TimeSpan.FromMilliseconds(100))
        .AtLeast(nameof(RouteRetryDelay), o => o.RouteRetryDelay, TimeSpan.FromMilliseconds(100))
        .Between(nameof(DeadlineSweepInterval), o => o.DeadlineSweepInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5))
        .Between(nameof(WorkerFlushInterval), o => o.WorkerFlushInterval, TimeSpan.Zero, TimeSpan.FromMinutes(5))
        .Between(nameof(WorkerReportInterval), o => o.WorkerReportInterval, TimeSpan.Zero, TimeSpan.FromMinutes(1))
        .AtLeast(nameof(TellRetryDelay), o => o.TellRetryDelay, TimeSpan.FromMilliseconds(100))
        .Between(nameof(MaxOfferAttempts), o => o.MaxOfferAttempts, 1, 100)
        .AtLeast(nameof(RollupInterval), o => o.RollupInterval, TimeSpan.FromMilliseconds(50))
        .Between("Everyday:HandleFactor", o => o.Everyday.HandleFactor, 0.01, 100)
        .Between("Emergency:HandleFactor", o => o.Emergency.HandleFactor, 0.01, 100);

    public int WeightOf(Severity severity) => severity switch
    {
        Severity.Critical => CriticalWeight,
        Severity.Urgent => UrgentWeight,
        _ => RoutineWeight,
    };

    public TimeSpan AcceptanceTimeoutOf(Severity severity) => severity switch
    {
        Severity.Critical => CriticalAcceptanceTimeout,
        Severity.Urgent => UrgentAcceptanceTimeout,
        _ => RoutineAcceptanceTimeout,
    };
}

/// <summary>Weights of the grid difficulty score (section "GridDispatch:Difficulty").</summary>
public sealed class DifficultyOptions
{
    public const string Section = "GridDispatch:Difficulty";

    public double HouseholdWeight { get; set; } = 1.0;
    public double FloatingPopulationWeight { get; set; } = 0.5;
    public double RentedHomeWeight { get; set; } = 0.8;
    public double ShopWeight { get; set; } = 0.5;
    public double HighRiseBuildingWeight { get; set; } = 5.0;

    /// <summary>Score one full-time worker can cover; recommended workers = ceil(score / this), at least 1.</summary>
    public double ScorePerWorker { get; set; } = 400;

    public static SettingRules<DifficultyOptions> Rules => new SettingRules<DifficultyOptions>(Section)
        .Between(nameof(HouseholdWeight), o => o.HouseholdWeight, 0, 1000)
        .Between(nameof(FloatingPopulationWeight), o => o.FloatingPopulationWeight, 0, 1000)
        .Between(nameof(RentedHomeWeight), o => o.RentedHomeWeight, 0, 1000)
        .Between(nameof(ShopWeight), o => o.ShopWeight, 0, 1000)
        .Between(nameof(HighRiseBuildingWeight), o => o.HighRiseBuildingWeight, 0, 1000)
        .Between(nameof(ScorePerWorker), o => o.ScorePerWorker, 1, 1_000_000);
}

/// <summary>The working calendar (section "GridDispatch:Calendar").</summary>
public sealed class CalendarOptions
{
    public const string Section = "GridDispatch:Calendar";

    /// <summary>IANA time zone the working hours are in.</summary>
    public string TimeZone { get; set; } = "Asia/Shanghai";

    /// <summary>Working periods of a working day, "HH:mm-HH:mm".</summary>
    public List<string> Periods { get; set; } = [];

    public List<DayOfWeek> WorkingDays { get; set; } = [];

    /// <summary>Public holidays: no work even on a working weekday.</summary>
    public List<DateOnly> Holidays { get; set; } = [];

    /// <summary>Make-up working days (调休): work even on a weekend.</summary>
    public List<DateOnly> ExtraWorkingDays { get; set; } = [];

    /// <summary>Defaults used when configuration names no periods or days: 09:00–12:00 and 13:00–18:00, Monday to Friday.</summary>
    public static readonly string[] DefaultPeriods = ["09:00-12:00", "13:00-18:00"];

    public static readonly DayOfWeek[] DefaultWorkingDays =
        [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    /// <summary>The calendar is built from these settings as the engine builds it; whatever that refuses is named.</summary>
    public static SettingRules<CalendarOptions> Rules => new SettingRules<CalendarOptions>(Section)
        .Explained(o =>
        {
            try
            {
                TimeZoneInfo.FindSystemTimeZoneById(o.TimeZone);
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                return $"{nameof(TimeZone)} is an IANA time zone this machine knows (Asia/Shanghai), not '{o.TimeZone}'";
            }

            try
            {
                _ = new WorkingCalendar(o);
                return null;
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                return $"{nameof(Periods)} are \"HH:mm-HH:mm\" working periods that do not overlap: {e.Message}";
            }
        });
}

/// <summary>What changes with the operating mode.</summary>
public sealed class ModePolicy
{
    /// <summary>Multiplies every handling limit (0.5 halves the deadlines).</summary>
    public double HandleFactor { get; set; } = 1.0;

    /// <summary>
    /// Handling limits that replace the catalogue's in this mode, by 4-digit category or 2-digit class code ("2h", "5wh",
    /// "1wd"); <see cref="HandleFactor"/> does not apply to them. A category's own entry wins over its class's.
    /// </summary>
    public Dictionary<string, string> HandleLimits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The mode's own handling limit for a category, if it sets one.</summary>
    public TimeLimit? HandleLimitFor(string category) =>
        HandleLimits.TryGetValue(category, out var own) || (category.Length >= 2 && HandleLimits.TryGetValue(category[..2], out own))
            ? TimeLimit.Parse(own)
            : null;

    /// <summary>Multiplies the acknowledgement windows.</summary>
    public double AcceptanceFactor { get; set; } = 1.0;

    /// <summary>A worker takes no more once load would exceed capacity × this (1.0: full at capacity).</summary>
    public double OverloadedAt { get; set; } = 1.0;

    /// <summary>
    /// False: a grid dispatches its own workers first and passes the incident up when none fits (everyday).
    /// True: the least-loaded fitting worker of the community, then of the street, is taken (emergency).
    /// </summary>
    public bool DispatchFromPool { get; set; }

    /// <summary>Escalation threshold: after this many refusals at one level (declines, acknowledgement timeouts,
    /// hand-backs) the incident goes one level up instead of being offered to the next worker there.</summary>
    public int RefusalsBeforeEscalation { get; set; } = 3;

    /// <summary>Worker kinds that may be dispatched; empty means every kind.</summary>
    public List<WorkerKind> Eligible { get; set; } = [];

    public bool MayDispatch(WorkerKind kind) => Eligible.Count == 0 || Eligible.Contains(kind);
}
