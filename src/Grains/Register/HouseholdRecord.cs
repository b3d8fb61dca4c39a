namespace GridDispatch.Register;

/// <summary>
/// One household's row of the register: what the import states (building, unit, size, tags), what monitoring keeps
/// (colour and why, the warning, open findings, visits, the next revisit) and the store's version. Personal data
/// (the people) is not here: it lives apart, erasable (<see cref="IHouseholdStore.PeopleAsync"/>).
/// </summary>
public sealed class HouseholdRecord
{
    public string Id { get; set; } = "";
    public string Grid { get; set; } = "";
    public string Building { get; set; } = "";
    public string? Unit { get; set; }
    public int Size { get; set; }
    public string[] Tags { get; set; } = [];
    public DateTimeOffset RegisteredAt { get; set; }

    /// <summary>
    /// Who registered the household and why: its first log line, kept in the row instead of as a line (every household
    /// has one, and a city's first import would otherwise write a log row per household).
    /// </summary>
    public string? RegisteredBy { get; set; }
    public string? RegisteredWhy { get; set; }

    /// <summary>A colour set by hand (yellow or red) and why; cleared by green or when its warning is closed.</summary>
    public Colour? HandColour { get; set; }
    public string? HandReason { get; set; }

    /// <summary>The open warning (an incident linked to the household), its colour, and whether its report is known stored.</summary>
    public string? WarningId { get; set; }
    public Colour? WarningColour { get; set; }
    public bool WarningReported { get; set; }
    public int WarningsOpened { get; set; }

    /// <summary>Open incidents found at this household (visits, campaign tasks): ids, at most <see cref="HouseholdRules.MaxFindings"/>.</summary>
    public List<string> Findings { get; set; } = [];

    public DateTimeOffset? LastPhoneAt { get; set; }
    public DateTimeOffset? LastInPersonAt { get; set; }
    public VisitRecord? LastVisit { get; set; }

    /// <summary>The keys of the latest visits (a campaign task's id, a request's idempotency key), so a repeated report logs nothing twice; at most 16.</summary>
    public List<string> VisitKeys { get; set; } = [];

    /// <summary>Visits in a row nobody answered; a second attempt is due a day after each.</summary>
    public int NotReachable { get; set; }
    public DateTimeOffset? RetryAt { get; set; }
    public VisitKind? RetryKind { get; set; }

    // Derived by HouseholdRules.Evaluate, stored for the register's queries and the sweeper.
    public Colour Colour { get; set; }
    public string[] Reasons { get; set; } = [];
    public DateTimeOffset? RevisitDueAt { get; set; }
    public VisitKind? RevisitKind { get; set; }

    /// <summary>When this household next changes by itself (a revisit falls due, its incidents are checked); the sweeper's due time.</summary>
    public DateTimeOffset? DueAt { get; set; }

    public int Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public HouseholdRecord Copy()
    {
        var copy = (HouseholdRecord)MemberwiseClone();
        copy.Tags = [.. Tags];
        copy.Findings = [.. Findings];
        copy.VisitKeys = [.. VisitKeys];
        copy.Reasons = [.. Reasons];
        return copy;
    }
}

/// <summary>A person of a household's row: position in the household (1…), personal data, and whether it was erased.</summary>
public sealed record PersonRecord(int Position, string? Name, string? Phone, string? IdNumber, DateTimeOffset? ErasedAt = null, string? ErasedBy = null);

/// <summary>
/// A change of one household for the store, checked to be after <paramref name="ExpectedVersion"/> (0: a new
/// household): its new row with the log line saying who did it and why (null: a move of its due time only, which
/// needs none), its people replaced when <paramref name="People"/> is not null (an erased person keeps their place,
/// erased; the others follow it), and one person erased when <paramref name="Erase"/> names their position. A new
/// household's line is not stored as a line: its registration is in the row (<see cref="HouseholdRecord.RegisteredBy"/>).
/// With <paramref name="RowChanged"/> false the row is left as stored and only its people are written.
/// </summary>
public sealed record HouseholdChange(HouseholdRecord Record, int ExpectedVersion, IReadOnlyList<PersonRecord>? People, HouseholdLogEntry? Log,
    bool RowChanged = true, PersonErasure? Erase = null);

/// <summary>One person of a household to erase, and who asked.</summary>
public sealed record PersonErasure(int Position, string By);
