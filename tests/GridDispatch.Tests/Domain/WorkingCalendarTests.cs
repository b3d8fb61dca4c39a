using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Domain;

public sealed class WorkingCalendarTests
{
    // Working hours 09:00–12:00 and 13:00–18:00 (8 h a day), Monday to Friday, Asia/Shanghai (UTC+8).
    private static readonly CalendarOptions Options = new()
    {
        Holidays = [new DateOnly(2026, 12, 7)],              // a Monday off
        ExtraWorkingDays = [new DateOnly(2026, 12, 12)],     // a Saturday worked (调休)
    };

    private static readonly WorkingCalendar Calendar = new(Options);

    private static DateTimeOffset Local(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.FromHours(8));

    [Fact]
    public void Working_hours_skip_lunch_and_the_night()
    {
        Assert.Equal(Local(12, 1, 14), Calendar.AddWorkingTime(Local(12, 1, 11), TimeSpan.FromHours(2)));       // Tue 11:00 + 2 wh, lunch skipped
        Assert.Equal(Local(12, 2, 10), Calendar.AddWorkingTime(Local(12, 1, 17), TimeSpan.FromHours(2)));       // Tue 17:00 -> Wed 10:00
        Assert.Equal(Local(12, 1, 11), Calendar.AddWorkingTime(Local(12, 1, 6), TimeSpan.FromHours(2)));        // before opening: counts from 09:00
        Assert.Equal(Local(12, 1, 12), Calendar.AddWorkingTime(Local(12, 1, 9), TimeSpan.FromHours(3)));        // ends exactly at a period's end
    }

    [Fact]
    public void A_deadline_over_a_weekend_and_a_holiday_lands_on_the_next_working_day()
    {
        // Friday 4 Dec 17:00 + 2 working hours: Sat, Sun off, Monday 7 Dec is a holiday -> Tuesday 8 Dec 10:00.
        Assert.Equal(Local(12, 8, 10), Calendar.AddWorkingTime(Local(12, 4, 17), TimeSpan.FromHours(2)));
        Assert.False(Calendar.IsWorkingDay(new DateOnly(2026, 12, 7)));
    }

    [Fact]
    public void A_make_up_working_day_on_a_weekend_counts()
    {
        // Friday 11 Dec 17:00 + 2 wh: Saturday 12 Dec is a make-up working day -> Saturday 10:00.
        Assert.Equal(Local(12, 12, 10), Calendar.AddWorkingTime(Local(12, 11, 17), TimeSpan.FromHours(2)));
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 12, 12)));
    }

    [Fact]
    public void Working_days_are_whole_working_days_of_eight_hours()
    {
        Assert.Equal(TimeSpan.FromHours(8), Calendar.WorkingDayLength);
        // Wednesday 2 Dec 10:00 + 1 working day -> Thursday 10:00; + 4 working days -> Tuesday 8 Dec 10:00 (weekend, holiday).
        Assert.Equal(Local(12, 3, 10), Calendar.AddWorkingTime(Local(12, 2, 10), Calendar.WorkingDayLength));
        Assert.Equal(Local(12, 9, 10), Calendar.AddWorkingTime(Local(12, 2, 10), Calendar.WorkingDayLength * 4));
    }

    [Fact]
    public void Working_time_between_two_instants_is_the_inverse_of_adding_it()
    {
        var start = Local(12, 4, 15, 30);
        var due = Calendar.AddWorkingTime(start, TimeSpan.FromHours(13.5));
        Assert.Equal(TimeSpan.FromHours(13.5), Calendar.WorkingTimeBetween(start, due));
    }

    [Fact]
    public void Overlapping_or_malformed_periods_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new WorkingCalendar(new CalendarOptions { Periods = ["09:00-13:00", "12:00-18:00"] }));
        Assert.Throws<ArgumentException>(() => new WorkingCalendar(new CalendarOptions { Periods = ["9-5"] }));
    }

    [Fact]
    public void Urgent_and_critical_deadlines_run_on_the_wall_clock_with_caps()
    {
        var policy = new DeadlinePolicy(Calendar, Microsoft.Extensions.Options.Options.Create(new DispatchOptions()));
        var fridayEvening = Local(12, 4, 17);
        var fiveWorkingHours = TimeLimit.Parse("5wh");

        Assert.Equal(Local(12, 8, 14), policy.Due(fridayEvening, fiveWorkingHours, Severity.Routine));       // 1 h Fri, Mon holiday, 3 h Tue morning + 1 h after lunch
        Assert.Equal(Local(12, 4, 21), policy.Due(fridayEvening, fiveWorkingHours, Severity.Urgent));        // capped at 4 h
        Assert.Equal(Local(12, 4, 18), policy.Due(fridayEvening, fiveWorkingHours, Severity.Critical));      // capped at 1 h
        Assert.Equal(Local(12, 4, 17, 30), policy.Due(fridayEvening, TimeLimit.Parse("30m"), Severity.Urgent));
    }

    [Theory]
    [InlineData("30m", 30, TimeLimitUnit.Minutes)]
    [InlineData("2h", 2, TimeLimitUnit.Hours)]
    [InlineData("5wh", 5, TimeLimitUnit.WorkingHours)]
    [InlineData("15wd", 15, TimeLimitUnit.WorkingDays)]
    [InlineData("0.5wd", 0.5, TimeLimitUnit.WorkingDays)]
    public void Time_limits_parse_as_catalogues_write_them(string text, double amount, TimeLimitUnit unit)
    {
        Assert.Equal(new TimeLimit(amount, unit), TimeLimit.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("-1h")]
    [InlineData("3 weeks")]
    public void Malformed_time_limits_are_refused(string text) => Assert.Throws<FormatException>(() => TimeLimit.Parse(text));
}
