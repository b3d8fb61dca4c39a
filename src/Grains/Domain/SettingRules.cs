using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

/// <summary>
/// What a section of settings must hold, written once per options class and checked at start-up: every broken rule is
/// reported with the setting's full name and the value found ("GridDispatch:RateLimits:IntakePerMinute is at least 1,
/// not 0"), so an operator knows which line of which file to mend. Options bound through <c>IOptions</c> are checked by
/// <see cref="Checked{T}"/> (with <c>ValidateOnStart</c>); options read while the host is being built by
/// <see cref="Check"/>.
/// </summary>
public sealed class SettingRules<T>(string section) : IValidateOptions<T>
    where T : class
{
    private readonly List<Func<T, string?>> _rules = [];

    public string Section { get; } = section;

    /// <summary>A rule in words: <paramref name="ok"/> must hold, else "<c>Section:key rule, not value</c>".</summary>
    public SettingRules<T> That(string key, Func<T, object?> value, Func<T, bool> ok, string rule)
    {
        _rules.Add(o => ok(o) ? null : $"{Section}:{key} {rule}, not {Shown(value(o))}");
        return this;
    }

    public SettingRules<T> AtLeast(string key, Func<T, int> value, int min) =>
        That(key, o => value(o), o => value(o) >= min, $"is at least {min}");

    public SettingRules<T> Between(string key, Func<T, int> value, int min, int max) =>
        That(key, o => value(o), o => value(o) >= min && value(o) <= max, $"is from {min} to {max}");

    public SettingRules<T> Between(string key, Func<T, double> value, double min, double max) =>
        That(key, o => value(o), o => value(o) >= min && value(o) <= max, $"is from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

    public SettingRules<T> AtLeast(string key, Func<T, TimeSpan> value, TimeSpan min) =>
        That(key, o => value(o), o => value(o) >= min, $"is at least {min:c}");

    public SettingRules<T> Between(string key, Func<T, TimeSpan> value, TimeSpan min, TimeSpan max) =>
        That(key, o => value(o), o => value(o) >= min && value(o) <= max, $"is from {min:c} to {max:c}");

    /// <summary>A rule whose check itself says what is wrong (a parse, a lookup): null when the options pass.</summary>
    public SettingRules<T> Explained(Func<T, string?> failure)
    {
        _rules.Add(o => failure(o) is { } why ? $"{Section}:{why}" : null);
        return this;
    }

    /// <summary>Every broken rule, in the order written.</summary>
    public IReadOnlyList<string> Failures(T options) => [.. _rules.Select(r => r(options)).OfType<string>()];

    /// <summary>Answers <paramref name="options"/> if they keep every rule; else throws naming each broken one.</summary>
    public T Check(T options)
    {
        var failures = Failures(options);
        return failures.Count == 0 ? options : throw new OptionsValidationException(Section, typeof(T), failures);
    }

    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Shown(object? value) => value switch
    {
        null => "unset",
        string s => $"'{s}'",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "unset",
    };
}

public static class SettingRulesExtensions
{
    /// <summary>Binds <typeparamref name="T"/> to its section and refuses to start with settings that break <paramref name="rules"/>.</summary>
    public static OptionsBuilder<T> Checked<T>(this OptionsBuilder<T> builder, SettingRules<T> rules)
        where T : class
    {
        builder.Services.AddSingleton<IValidateOptions<T>>(rules);
        return builder.ValidateOnStart();
    }
}
