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

    /// <summary>Most photos one timeline entry, report or visit names (a phone's nine-photo grid).</summary>
    public const int MaxPhotos = 9;

    /// <summary>Photo ids: "ph" and 32 lowercase hex digits.</summary>
    public static bool IsPhotoId([NotNullWhen(true)] string? id) =>
        id is { Length: 34 } && id.StartsWith("ph", StringComparison.Ordinal) && id.AsSpan(2).ContainsAnyExcept("0123456789abcdef") is false;

    /// <summary>Null, or up to <see cref="MaxPhotos"/> distinct photo ids: otherwise a 400 naming <paramref name="field"/>.</summary>
    public static void RequirePhotos(IReadOnlyList<string>? photos, string field = "photos")
    {
        if (photos is not { } list)
        {
            return;
        }

        if (list.Count > MaxPhotos || list.Distinct(StringComparer.Ordinal).Count() != list.Count || !list.All(IsPhotoId))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"{field} lists up to {MaxPhotos} distinct photo ids, as POST /api/photos returns them", field);
        }
    }
}
