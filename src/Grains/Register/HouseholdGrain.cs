using System.Collections.Immutable;
using System.Globalization;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Register;

/// <summary>
/// One household while something happens to it: every change is read, applied and written back after the version
/// read (a conflict — an import or another silo wrote first — reads again and applies the command again), then the
/// rules set its colour and due time. A yellow or red household gets a warning: an incident of category 1504 (yellow)
/// or 1505 (red) linked to it, which is dispatched, escalates and is closed like any other; when it closes, the colour
/// set by hand goes with it, and if the causes remain a new warning opens.
/// </summary>
public sealed partial class HouseholdGrain(IHouseholdStore store, HouseholdTagCatalog tags, EngineClock clock, ILogger<HouseholdGrain> logger)
    : Grain, IHouseholdGrain
{
    public const string YellowWarning = "1504";
    public const string RedWarning = "1505";
    private const int Attempts = 4;
    private const int LogShown = 20;

    private HouseholdRecord? _row;

    private string Id => this.GetPrimaryKeyString();

    /// <summary>Read from the store each time: an import may have changed the row since this grain last wrote it.</summary>
    public async Task<HouseholdView> GetAsync()
    {
        _row = null;
        return await ViewAsync(await RowAsync());
    }

    public async Task<HouseholdView> SetColourAsync(ColourCommand command)
    {
        if (!Enum.IsDefined(command.Colour))
        {
            throw new DomainException(DomainErrors.InvalidInput, "The colour is green, yellow or red", "colour");
        }

        if (string.IsNullOrWhiteSpace(command.Reason) || command.Reason.Length > 500)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason of 1–500 characters is required", "reason");
        }

        var row = await ChangeAsync(h =>
        {
            h.HandColour = command.Colour == Colour.Green ? null : command.Colour;
            h.HandReason = command.Colour == Colour.Green ? null : command.Reason.Trim();
            return Log(command.Actor, "colour", $"set {Name(command.Colour)}: {command.Reason.Trim()}");
        });
        return await ViewAsync(row);
    }

    public async Task<HouseholdView> VisitAsync(VisitCommand command)
    {
        if (!Enum.IsDefined(command.Kind))
        {
            throw new DomainException(DomainErrors.InvalidInput, "The kind is phone or in-person", "kind");
        }

        if (!Enum.IsDefined(command.Outcome))
        {
            throw new DomainException(DomainErrors.InvalidInput, "The outcome is ok, problem or not-reachable", "outcome");
        }

        Identifiers.RequirePhotos(command.Photos);
        if (command.Note is { Length: > 1000 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The note is longer than 1000 characters", "note");
        }

        if (command.Key is { Length: > 200 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "A visit's key is at most 200 characters", "key");
        }

        var row = await ChangeAsync(h =>
        {
            if (command.Key is { } key && h.VisitKeys.Contains(key))
            {
                return null;        // the same visit reported again: nothing happens twice
            }

            if (command.Key is { } added)
            {
                h.VisitKeys.Add(added);
                if (h.VisitKeys.Count > 16)
                {
                    h.VisitKeys.RemoveAt(0);
                }
            }

            var now = clock.Now;
            h.LastVisit = new VisitRecord(now, command.Actor, command.Kind, command.Outcome, command.Note, command.Photos);
            if (command.Outcome == VisitOutcome.NotReachable)
            {
                h.NotReachable++;
                (h.RetryAt, h.RetryKind) = (now + HouseholdRules.RetryAfter, command.Kind);
            }
            else
            {
                h.NotReachable = 0;
                (h.RetryAt, h.RetryKind) = (null, null);
                if (command.Kind == VisitKind.Phone)
                {
                    h.LastPhoneAt = now;
                }
                else
                {
                    h.LastInPersonAt = now;
                }
            }

            if (command.Outcome == VisitOutcome.Problem && h.HandColour is null or Colour.Green)
            {
                (h.HandColour, h.HandReason) = (Colour.Yellow, $"a problem found on a {HouseholdRules.Words(command.Kind)} visit");
            }

            var outcome = command.Outcome switch { VisitOutcome.Ok => "ok", VisitOutcome.Problem => "problem", _ => "not reachable" };
            return Log(command.Actor, "visit", $"{HouseholdRules.Words(command.Kind)} visit: {outcome}" + (command.Note is { Length: > 0 } n ? $" — {n}" : "")
                + (command.Photos is { Count: > 0 } p ? $" ({p.Count} photo{(p.Count > 1 ? "s" : "")})" : ""));
        });
        return await ViewAsync(row);
    }

    public async Task FindingReportedAsync(string incidentId)
    {
        await ChangeAsync(h =>
        {
            if (h.Findings.Contains(incidentId) || h.WarningId == incidentId || h.Findings.Count >= HouseholdRules.MaxFindings)
            {
                return null;
            }

            h.Findings.Add(incidentId);
            return Log("register", "finding", $"incident {incidentId} found here");
        });
    }

    public async Task WakeAsync(DateTimeOffset dueAt)
    {
        _row = null;    // the sweeper's wake reads the stored row: nothing cached decides it
        var row = await RowAsync();
        var ended = new List<string>();
        foreach (var id in row.Findings.Append(row.WarningId).OfType<string>())
        {
            if (await IncidentEndedAsync(id, row))
            {
                ended.Add(id);
            }
        }

        await ChangeAsync(h =>
        {
            foreach (var id in ended)
            {
                Ended(h, id);
            }

            return ended.Count > 0 ? Log("register", "check", $"{ended.Count} linked incident(s) found ended") : null;
        });
    }

    public async Task IncidentChangedAsync(IncidentSummary incident)
    {
        try
        {
            await ChangeAsync(h =>
            {
                if (incident.Id == h.WarningId)
                {
                    return incident.IsTerminal ? Ended(h, incident.Id) : null;
                }

                if (incident.IsTerminal)
                {
                    return h.Findings.Contains(incident.Id) ? Ended(h, incident.Id) : null;
                }

                if (h.Findings.Contains(incident.Id) || h.Findings.Count >= HouseholdRules.MaxFindings)
                {
                    return null;
                }

                h.Findings.Add(incident.Id);
                return Log("register", "finding", $"incident {incident.Id} ({incident.Category}) found here");
            });
        }
        catch (Exception ex) when (ex is DomainException or StoreUnavailableException)
        {
            LogNoticeFailed(ex, Id, incident.Id);   // the household's due check reads its incidents again
        }
    }

    public async Task<HouseholdView> ErasePersonAsync(string personId, string actor, string reason)
    {
        var prefix = Id + "-p";
        if (!personId.StartsWith(prefix, StringComparison.Ordinal)
            || !int.TryParse(personId.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var position) || position is < 1 or > 1000)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"A person of this household is {prefix}1, {prefix}2, …", "personId");
        }

        _row = null;
        var row = await RowAsync();
        if ((await store.PeopleAsync(Id)).Any(p => p.Position == position && p.ErasedAt is null))
        {
            // The erasure and its log line in one transaction, after the version read.
            row = await ChangeAsync(_ => Log(actor, "erasure", $"person {position} erased" + (reason is { Length: > 0 } ? $": {reason}" : "")),
                new PersonErasure(position, actor));
        }

        return await ViewAsync(row);
    }

    private async Task<HouseholdRecord> RowAsync() =>
        _row ??= await store.GetAsync(Id) ?? throw new DomainException(DomainErrors.NotFound, $"No household {Id} in the register");

    /// <summary>
    /// Applies <paramref name="change"/> (its log line, or null when it changed nothing) and the rules to a copy of the
    /// stored row, and writes it after the version read; on a conflict it reads again and applies the change again.
    /// </summary>
    private async Task<HouseholdRecord> ChangeAsync(Func<HouseholdRecord, HouseholdLogEntry?> change, PersonErasure? erase = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await RowAsync();
            var next = current.Copy();
            var log = change(next);
            var now = clock.Now;
            var causes = HouseholdRules.Evaluate(next, now, tags);
            var opened = false;
            if (causes == Colour.Red && next.WarningId is not null && next.WarningColour != Colour.Red && next.Findings.Count < HouseholdRules.MaxFindings)
            {
                // A yellow warning open when the household turns red: it stays open as a finding, and a red warning takes over.
                next.Findings.Add(next.WarningId);
                next.WarningId = null;
            }

            if (causes != Colour.Green && next.WarningId is null)
            {
                next.WarningsOpened++;
                next.WarningId = IncidentIds.For(WarningSource, WarningKey(next));
                (next.WarningColour, next.WarningReported, opened) = (causes, false, true);
                HouseholdRules.Evaluate(next, now, tags);
                log ??= Log("register", "warning", $"{Name(causes)} warning {next.WarningId} opened: {string.Join("; ", next.Reasons.SkipLast(1))}");
            }

            if (log is null && Same(current, next))
            {
                return current;
            }

            next.UpdatedAt = now;
            if (log is null && !SameBut(current, next))
            {
                log = Log("register", "rules", $"{Name(next.Colour)}: {(next.Reasons.Length > 0 ? string.Join("; ", next.Reasons) : "nothing to watch")}");
            }

            try
            {
                // No log line when only the due time moved (a check of open incidents every few hours is no news).
                await store.WriteAsync([new HouseholdChange(next, current.Version, null, log, Erase: erase)]);
            }
            catch (HouseholdConflictException) when (attempt < Attempts)
            {
                _row = null;
                continue;
            }
            catch (HouseholdConflictException)
            {
                _row = null;
                throw new DomainException(DomainErrors.Conflict, $"Household {Id} kept changing under this command; try again");
            }

            next.Version = current.Version + 1;
            _row = next;
            if (next.Colour != current.Colour || next.WarningId != current.WarningId || next.RevisitDueAt != current.RevisitDueAt)
            {
                GrainFactory.Reference<IGridGrain>(next.Grid).HouseholdsChangedAsync().Ignore();
            }

            if (next.WarningId is not null && !next.WarningReported)
            {
                await ReportWarningAsync(next, opened);
            }

            return _row;
        }
    }

    private const string WarningSource = "register";

    private static string WarningKey(HouseholdRecord h) => string.Create(CultureInfo.InvariantCulture, $"{h.Id}#w{h.WarningsOpened}");

    /// <summary>Reports the warning's incident (idempotent by its key) and records that it is stored; a failure leaves it to the due check.</summary>
    private async Task ReportWarningAsync(HouseholdRecord h, bool opened)
    {
        try
        {
            var red = h.WarningColour == Colour.Red;
            var where = h.Unit is { Length: > 0 } u ? $"{h.Building}, {u}" : h.Building;
            // What is wrong in the register's words only: a reason typed by hand may say things about the people (the
            // incident is seen by more than the household's staff), so it stays on the household.
            var report = new IncidentReport(red ? RedWarning : YellowWarning, red ? Severity.Urgent : Severity.Routine, h.Grid,
                $"Household {where}: {string.Join("; ", HouseholdRules.Causes(h))}",
                WarningSource, WarningKey(h), Actor: "register", Household: h.Id);
            await GrainFactory.Reference<IIncidentGrain>(h.WarningId!).ReportAsync(report);
            await ChangeAsync(r =>
            {
                r.WarningReported = r.WarningId == h.WarningId || r.WarningReported;
                return null;
            });
        }
        catch (Exception ex) when (ex is DomainException or StoreUnavailableException or TimeoutException)
        {
            LogWarningNotReported(ex, h.Id, h.WarningId!, opened);
        }
    }

    private async Task<bool> IncidentEndedAsync(string incidentId, HouseholdRecord h)
    {
        try
        {
            var incident = await GrainFactory.Reference<IIncidentGrain>(incidentId).GetAsync();
            return incident.State is IncidentState.Closed or IncidentState.Cancelled;
        }
        catch (DomainException e) when (e.Code == DomainErrors.NotFound)
        {
            return incidentId != h.WarningId; // a warning not yet stored is reported again, not dropped
        }
    }

    private HouseholdLogEntry Ended(HouseholdRecord h, string incidentId)
    {
        if (incidentId == h.WarningId)
        {
            (h.WarningId, h.WarningColour, h.WarningReported) = (null, null, false);
            (h.HandColour, h.HandReason) = (null, null);
            h.NotReachable = 0;
            return Log("register", "warning", $"warning {incidentId} closed");
        }

        h.Findings.Remove(incidentId);
        return Log("register", "finding", $"incident {incidentId} ended");
    }

    private static bool Same(HouseholdRecord a, HouseholdRecord b) => a.DueAt == b.DueAt && SameBut(a, b);

    /// <summary>The same but perhaps for the due time.</summary>
    private static bool SameBut(HouseholdRecord a, HouseholdRecord b) =>
        a.Colour == b.Colour && a.Reasons.SequenceEqual(b.Reasons) && a.RevisitDueAt == b.RevisitDueAt
        && a.RevisitKind == b.RevisitKind && a.WarningId == b.WarningId && a.WarningReported == b.WarningReported
        && a.WarningColour == b.WarningColour && a.Findings.SequenceEqual(b.Findings);

    private HouseholdLogEntry Log(string actor, string kind, string what) => new(clock.Now, actor, kind, what);

    private static string Name(Colour c) => c.ToString().ToLowerInvariant();

    private async Task<HouseholdView> ViewAsync(HouseholdRecord h)
    {
        var people = await store.PeopleAsync(h.Id);
        var log = await store.LogAsync(h.Id, LogShown);
        return HouseholdViews.Of(h, people, log, LogShown);
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Household {HouseholdId} could not take the change of incident {IncidentId}; its due check reads it again")]
    private partial void LogNoticeFailed(Exception ex, string householdId, string incidentId);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Household {HouseholdId}: warning {IncidentId} not reported yet (opened now: {Opened}); reported again at its due check")]
    private partial void LogWarningNotReported(Exception ex, string householdId, string incidentId, bool opened);
}

/// <summary>Household rows as the register shows them.</summary>
public static class HouseholdViews
{
    /// <summary>
    /// The view; <paramref name="log"/> is the latest lines, newest first, at most <paramref name="limit"/>: when it holds
    /// fewer, the household's whole story is there, and its registration (kept in the row) closes it.
    /// </summary>
    public static HouseholdView Of(HouseholdRecord h, IReadOnlyList<PersonRecord>? people, IReadOnlyList<HouseholdLogEntry>? log, int limit = 0) => new(
        h.Id, h.Grid, h.Building, h.Unit, h.Size, [.. h.Tags], h.Colour, [.. h.Reasons], h.RevisitDueAt, h.RevisitKind, h.WarningId,
        [.. h.Findings], h.LastVisit,
        people is null ? [] : [.. people.Select(p => new PersonView($"{h.Id}-p{p.Position}", p.Name, p.Phone, p.IdNumber, p.ErasedAt))],
        log is null ? [] : log.Count < limit ? [.. log, Registration(h)] : [.. log], h.Version, h.UpdatedAt);

    private static HouseholdLogEntry Registration(HouseholdRecord h) =>
        new(h.RegisteredAt, h.RegisteredBy ?? "register", "import", $"{h.RegisteredWhy ?? "registered"}: registered");
}
