using System.Globalization;
using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

/// <summary>Working hours, weekends, public holidays and make-up days; adds working time to an instant.</summary>
public sealed class WorkingCalendar
{
    private readonly TimeZoneInfo _zone;
    private readonly (TimeSpan Start, TimeSpan End)[] _periods;
    private readonly HashSet<DayOfWeek> _workingDays;
    private readonly HashSet<DateOnly> _holidays;
    private readonly HashSet<DateOnly> _extraDays;

    public WorkingCalendar(IOptions<CalendarOptions> options)
        : this(options.Value)
    {
    }

    public WorkingCalendar(CalendarOptions options)
    {
        _zone = TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
        var periods = options.Periods.Count > 0 ? options.Periods : [.. CalendarOptions.DefaultPeriods];
        _periods = [.. periods.Select(ParsePeriod).OrderBy(p => p.Start)];
        for (var i = 1; i < _periods.Length; i++)
        {
            if (_periods[i].Start < _periods[i - 1].End)
            {
                throw new ArgumentException($"Working periods overlap: {periods[i - 1]} and {periods[i]}");
            }
        }

        _workingDays = options.WorkingDays.Count > 0 ? [.. options.WorkingDays] : [.. CalendarOptions.DefaultWorkingDays];
        _holidays = [.. options.Holidays];
        _extraDays = [.. options.ExtraWorkingDays];
        WorkingDayLength = TimeSpan.FromTicks(_periods.Sum(p => (p.End - p.Start).Ticks));
    }

    /// <summary>Working time in one working day (the length of "1 working day").</summary>
    public TimeSpan WorkingDayLength { get; }

    /// <summary>The first instant after <paramref name="after"/> at one of these local times of day (any day of the week).</summary>
    public DateTimeOffset NextAt(DateTimeOffset after, IReadOnlyCollection<TimeOnly> timesOfDay)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(after, _zone).DateTime);
        for (var d = 0; d < 3; d++)
        {
            var day = today.AddDays(d);
            foreach (var time in timesOfDay.Order())
            {
                var local = day.ToDateTime(time, DateTimeKind.Unspecified);
                var at = new DateTimeOffset(local, _zone.GetUtcOffset(local));
                if (at > after)
                {
                    return at;
                }
            }
        }

        throw new ArgumentException("At least one time of day is required", nameof(timesOfDay));
    }

    public bool IsWorkingDay(DateOnly day) =>
        _extraDays.Contains(day) || (!_holidays.Contains(day) && _workingDays.Contains(day.DayOfWeek));

    /// <summary>The instant at which <paramref name="workingTime"/> of working time has elapsed after <paramref name="start"/>.</summary>
    public DateTimeOffset AddWorkingTime(DateTimeOffset start, TimeSpan workingTime)
    {
        if (workingTime <= TimeSpan.Zero)
        {
            return start;
        }

        var local = TimeZoneInfo.ConvertTime(start, _zone);
        var day = DateOnly.FromDateTime(local.DateTime);
        var from = local.TimeOfDay;
        var remaining = workingTime;

        // Ten years of calendar is far beyond any handling limit; the bound only stops a misconfiguration from spinning.
        for (var i = 0; i < 3660; i++, day = day.AddDays(1), from = TimeSpan.Zero)
        {
            if (!IsWorkingDay(day))
            {
                continue;
            }

            foreach (var (periodStart, periodEnd) in _periods)
            {
                var begin = from > periodStart ? from : periodStart;
                if (begin >= periodEnd)
                {
                    continue;
                }

                var available = periodEnd - begin;
                if (remaining <= available)
                {
                    var at = day.ToDateTime(TimeOnly.MinValue).Add(begin + remaining);
                    return new DateTimeOffset(at, _zone.GetUtcOffset(at)).ToUniversalTime();
                }

                remaining -= available;
            }
        }

        throw new InvalidOperationException("The working calendar has no working time in the next ten years.");
    }

    /// <summary>Working time between two instants (zero if <paramref name="to"/> is not after <paramref name="from"/>).</summary>
    public TimeSpan WorkingTimeBetween(DateTimeOffset from, DateTimeOffset to)
    {
        var total = TimeSpan.Zero;
        if (to <= from)
        {
            return total;
        }

        var localFrom = TimeZoneInfo.ConvertTime(from, _zone);
        var localTo = TimeZoneInfo.ConvertTime(to, _zone);
        for (var day = DateOnly.FromDateTime(localFrom.DateTime); day <= DateOnly.FromDateTime(localTo.DateTime); day = day.AddDays(1))
        {
            if (!IsWorkingDay(day))
            {
                continue;
            }

            var dayStart = day.ToDateTime(TimeOnly.MinValue);
            foreach (var (periodStart, periodEnd) in _periods)
            {
                var begin = Max(dayStart + periodStart, localFrom.DateTime);
                var end = Min(dayStart + periodEnd, localTo.DateTime);
                if (end > begin)
                {
                    total += end - begin;
                }
            }
        }

        return total;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    private static (TimeSpan Start, TimeSpan End) ParsePeriod(string text)
    {
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !TimeSpan.TryParseExact(parts[0], @"hh\:mm", CultureInfo.InvariantCulture, out var start)
            || !TimeSpan.TryParseExact(parts[1], @"hh\:mm", CultureInfo.InvariantCulture, out var end)
            || end <= start)
        {
            throw new ArgumentException($"Working period '{text}' is not of the form HH:mm-HH:mm with end after start");
        }

        return (start, end);
    }

    /// <summary>The city's local date of an instant.</summary>
    public DateOnly LocalDate(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _zone).DateTime);
}
