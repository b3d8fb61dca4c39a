using System.Diagnostics.CodeAnalysis;

namespace GridDispatch;

/// <summary>The shapes of the identifiers the engine accepts, checked in one place.</summary>
public static class Identifiers
{
    /// <summary>Incident and campaign ids: 1–64 ASCII letters, digits, '-' or '_'.</summary>
    public static bool IsEntityId([NotNullWhen(true)] string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Worker ids: 1–64 ASCII letters, digits, '-', '_' or '.'.</summary>
    public static bool IsWorkerId([NotNullWhen(true)] string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>A 2-digit class or 4-digit category code of the catalogue.</summary>
    public static bool IsClassOrCategory([NotNullWhen(true)] string? code) => code is { Length: 2 or 4 } && code.All(char.IsAsciiDigit);
}
