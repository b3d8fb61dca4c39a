using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

/// <summary>
/// Turns catalogue limits into deadlines. Routine incidents count working time on the calendar;
/// urgent and critical ones run on the wall clock (a working day counts as 24 hours), capped by severity.
/// </summary>
public sealed class DeadlinePolicy(WorkingCalendar calendar, IOptions<DispatchOptions> options)
{
    private readonly DispatchOptions _options = options.Value;

    public DateTimeOffset Due(DateTimeOffset start, TimeLimit limit, Severity severity, double factor = 1.0)
    {
        if (severity == Severity.Routine)
        {
            return limit.Unit switch
            {
                TimeLimitUnit.Minutes => start + TimeSpan.FromMinutes(limit.Amount * factor),
                TimeLimitUnit.Hours => start + TimeSpan.FromHours(limit.Amount * factor),
                TimeLimitUnit.WorkingHours => calendar.AddWorkingTime(start, TimeSpan.FromHours(limit.Amount * factor)),
                _ => calendar.AddWorkingTime(start, calendar.WorkingDayLength * (limit.Amount * factor)),
            };
        }

        var wall = limit.Unit switch
        {
            TimeLimitUnit.Minutes => TimeSpan.FromMinutes(limit.Amount),
            TimeLimitUnit.Hours or TimeLimitUnit.WorkingHours => TimeSpan.FromHours(limit.Amount),
            _ => TimeSpan.FromDays(limit.Amount),
        } * factor;
        var cap = (severity == Severity.Critical ? _options.CriticalHandleCap : _options.UrgentHandleCap) * factor;
        return start + (wall < cap ? wall : cap);
    }

    /// <summary>Deadline for the level now holding the incident to resolve it, under the mode's policy.</summary>
    public DateTimeOffset HandleDue(DateTimeOffset start, Category category, Severity severity, RegionLevel level, ModePolicy policy)
    {
        var levelFactor = level == RegionLevel.Grid ? 1.0 : _options.EscalatedLevelFactor;
        return policy.HandleLimitFor(category.Code) is { } own
            ? Due(start, own, severity, levelFactor)
            : Due(start, category.HandleLimit, severity, levelFactor * policy.HandleFactor);
    }

    /// <summary>What remains of a deadline, measured the way it was set (for deferral).</summary>
    public TimeSpan Remaining(DateTimeOffset now, DateTimeOffset due, Severity severity) =>
        severity == Severity.Routine ? calendar.WorkingTimeBetween(now, due) : (due > now ? due - now : TimeSpan.Zero);

    /// <summary>The deadline after resuming with <paramref name="remaining"/> time left.</summary>
    public DateTimeOffset Resume(DateTimeOffset now, TimeSpan remaining, Severity severity) =>
        severity == Severity.Routine ? calendar.AddWorkingTime(now, remaining) : now + remaining;
}
