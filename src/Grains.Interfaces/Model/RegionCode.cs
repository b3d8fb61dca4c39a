namespace GridDispatch;

/// <summary>
/// Hierarchical region codes. A grid code has 15 digits: 6-digit district administrative code,
/// 3-digit street, 3-digit community, 3-digit grid sequence (as in Beijing's grid-coding standard).
/// Every prefix names an ancestor: 12 digits a community, 9 a street, 6 a district, and the first
/// 4 digits (the prefecture prefix of the administrative code) the city.
/// </summary>
public static class RegionCode
{
    public static int LengthOf(RegionLevel level) => level switch
    {
        RegionLevel.City => 4,
        RegionLevel.District => 6,
        RegionLevel.Street => 9,
        RegionLevel.Community => 12,
        RegionLevel.Grid => 15,
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    public static bool TryGetLevel(string? code, out RegionLevel level)
    {
        level = default;
        if (string.IsNullOrEmpty(code) || !code.All(char.IsAsciiDigit))
        {
            return false;
        }

        switch (code.Length)
        {
            case 4: level = RegionLevel.City; return true;
            case 6: level = RegionLevel.District; return true;
            case 9: level = RegionLevel.Street; return true;
            case 12: level = RegionLevel.Community; return true;
            case 15: level = RegionLevel.Grid; return true;
            default: return false;
        }
    }

    public static bool IsValid(string? code) => TryGetLevel(code, out _);

    public static bool IsValid(string? code, RegionLevel expected) => TryGetLevel(code, out var level) && level == expected;

    public static RegionLevel LevelOf(string code) =>
        TryGetLevel(code, out var level) ? level : throw new DomainException(DomainErrors.InvalidInput, $"'{code}' is not a region code (4, 6, 9, 12 or 15 digits)", "code");

    /// <summary>The code of the ancestor at <paramref name="level"/>; the code itself if already there.</summary>
    public static string AncestorAt(string code, RegionLevel level)
    {
        var own = LevelOf(code);
        if (level < own)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"{level} is below {own} ({code})");
        }

        return code[..LengthOf(level)];
    }

    public static string? Parent(string code)
    {
        var level = LevelOf(code);
        return level == RegionLevel.City ? null : AncestorAt(code, level + 1);
    }

    /// <summary>
    /// Key of a functional department grain: departments belong to a city, so the key is the city code and the
    /// department code, "4499:city-management".
    /// </summary>
    public static string DepartmentKey(string regionCode, string department) => $"{AncestorAt(regionCode, RegionLevel.City)}:{department}";

    /// <summary>True when <paramref name="code"/> is <paramref name="ancestor"/> or lies below it.</summary>
    public static bool IsWithin(string code, string ancestor) =>
        code.Length >= ancestor.Length && code.StartsWith(ancestor, StringComparison.Ordinal);
}
