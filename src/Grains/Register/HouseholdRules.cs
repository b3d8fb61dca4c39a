using System.Globalization;

namespace GridDispatch.Register;

/// <summary>
/// A household's colour and next revisit, from its row alone (a pure function, so the grain, the import and the tests
/// compute it the same way). Yellow: a revisit overdue, an open finding, two visits in a row without an answer, a
/// problem found on a visit; red only by hand. An open warning holds its colour until it is closed with what was done.
/// </summary>
public static class HouseholdRules
{
    public const int MaxFindings = 20;

    /// <summary>A visit nobody answered is tried again this much later, before the regular schedule.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromDays(1);

    /// <summary>While incidents are open at the household, it checks them this often (heals a lost notice of their end).</summary>
    public static readonly TimeSpan CheckLinksEvery = TimeSpan.FromHours(6);

    /// <summary>A warning whose report is not known stored is reported again this soon.</summary>
    public static readonly TimeSpan ReportRetry = TimeSpan.FromMinutes(1);

    /// <summary>Sets the row's colour, reasons, next revisit and due time; returns the colour of its causes alone (without the open warning), which is what calls for a warning.</summary>
    public static Colour Evaluate(HouseholdRecord h, DateTimeOffset now, HouseholdTagCatalog catalog)
    {
        (h.RevisitDueAt, h.RevisitKind) = NextRevisit(h, catalog);
        var reasons = new List<string>();
        var colour = Colour.Green;
        void Raise(Colour c, string why)
        {
            colour = c > colour ? c : colour;
            reasons.Add(why);
        }

        if (h.RevisitDueAt is { } due && due <= now)
        {
            Raise(Colour.Yellow, string.Create(CultureInfo.InvariantCulture, $"{Words(h.RevisitKind)} revisit overdue since {due:yyyy-MM-dd HH:mm}Z"));
        }

        if (h.Findings.Count > 0)
        {
            Raise(Colour.Yellow, $"{h.Findings.Count} open finding(s)");
        }

        if (h.NotReachable >= 2)
        {
            Raise(Colour.Yellow, $"not reachable on {h.NotReachable} visits in a row");
        }

        if (h.HandColour is { } hand and not Colour.Green)
        {
            Raise(hand, $"set {hand.ToString().ToLowerInvariant()}: {h.HandReason}");
        }

        var causes = colour;
        if (h.WarningId is not null && h.WarningColour is { } held)
        {
            Raise(held, $"warning {h.WarningId} open");
        }

        h.Colour = colour;
        h.Reasons = [.. reasons];
        h.DueAt = NextDue(h, now);
        return causes;
    }

    /// <summary>
    /// The next revisit: for each kind the household's tags schedule, the shortest interval after the last visit of
    /// that kind (or the registration); a second attempt after a visit nobody answered comes first.
    /// </summary>
    public static (DateTimeOffset? At, VisitKind? Kind) NextRevisit(HouseholdRecord h, HouseholdTagCatalog catalog)
    {
        int? phone = null, inPerson = null;
        foreach (var code in h.Tags)
        {
            if (catalog.TryGet(code, out var tag))
            {
                phone = Min(phone, tag.PhoneEveryDays);
                inPerson = Min(inPerson, tag.InPersonEveryDays);
            }
        }

        DateTimeOffset? at = null;
        VisitKind? kind = null;
        void Consider(DateTimeOffset? when, VisitKind k)
        {
            if (when is { } w && (at is null || w < at))
            {
                (at, kind) = (w, k);
            }
        }

        if (phone is { } p)
        {
            Consider((h.LastPhoneAt ?? h.RegisteredAt).AddDays(p), VisitKind.Phone);
        }

        if (inPerson is { } i)
        {
            Consider((h.LastInPersonAt ?? h.RegisteredAt).AddDays(i), VisitKind.InPerson);
        }

        if (h.RetryAt is { } retry && h.RetryKind is { } retryKind)
        {
            Consider(retry, retryKind);
        }

        return (at, kind);
    }

    /// <summary>The causes in the register's own words, without anything typed by hand (for the warning's incident).</summary>
    public static IReadOnlyList<string> Causes(HouseholdRecord h)
    {
        var causes = new List<string>();
        if (h.Reasons.Any(r => r.Contains("revisit overdue", StringComparison.Ordinal)))
        {
            causes.Add($"{Words(h.RevisitKind)} revisit overdue");
        }

        if (h.Findings.Count > 0)
        {
            causes.Add($"{h.Findings.Count} open finding(s)");
        }

        if (h.NotReachable >= 2)
        {
            causes.Add($"not reachable on {h.NotReachable} visits in a row");
        }

        if (h.HandColour is Colour.Yellow or Colour.Red)
        {
            causes.Add($"set {h.HandColour.Value.ToString().ToLowerInvariant()} (the reason is on the household)");
        }

        return causes;
    }

    private static DateTimeOffset? NextDue(HouseholdRecord h, DateTimeOffset now)
    {
        DateTimeOffset? due = h.RevisitDueAt is { } r && r > now ? r : null;
        if (h.Findings.Count > 0 || h.WarningId is not null)
        {
            var check = now + CheckLinksEvery;
            due = due is { } d && d < check ? d : check;
        }

        if (h.WarningId is not null && !h.WarningReported)
        {
            due = now + ReportRetry;
        }

        return due;
    }

    private static int? Min(int? a, int? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    public static string Words(VisitKind? kind) => kind == VisitKind.InPerson ? "in-person" : "phone";
}
