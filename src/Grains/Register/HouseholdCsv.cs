using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace GridDispatch.Register;

/// <summary>One household as an import file states it; <see cref="Line"/> is the file line its record starts on.</summary>
public sealed record HouseholdRow(int Line, string Building, string? Unit, int Size, ImmutableArray<string> Tags, string? Name, string? Phone,
    string? Grid = null);

/// <summary>What is wrong with one line of an import: the line, the column (null for the line as a whole) and why.</summary>
public sealed record CsvError(int Line, string? Field, string Message);

/// <summary>A parsed import: every row, or — if any line is wrong — no rows and every error (up to <see cref="HouseholdCsv.MaxErrors"/>).</summary>
public sealed record HouseholdImport(IReadOnlyList<HouseholdRow> Rows, IReadOnlyList<CsvError> Errors, int ErrorCount)
{
    public bool Ok => ErrorCount == 0;
}

/// <summary>
/// The household import file (issue 13's contract): UTF-8 CSV (RFC 4180 quoting; a byte-order mark and CRLF are
/// fine) with the header row <c>building,unit,size,tags,name,phone</c>; tags separated by <c>;</c>, each a code of the
/// city's <see cref="HouseholdTagCatalog"/>. A household is a building and a unit (empty for a house), once per file.
/// All or nothing: one wrong line refuses the whole file, and every wrong line is reported with its number and column,
/// so a community worker fixes the file once instead of once per error.
/// </summary>
public static class HouseholdCsv
{
    public static readonly string[] Header = ["building", "unit", "size", "tags", "name", "phone"];

    /// <summary>A city's or region's file: the grid of each household first, then the grid file's columns.</summary>
    public static readonly string[] RegionHeader = ["grid", .. Header];

    /// <summary>Errors reported in full; the rest are only counted.</summary>
    public const int MaxErrors = 100;

    public const int MaxSize = 50;

    /// <param name="region">Null for a grid's file; for a region's file (header <see cref="RegionHeader"/>), the region
    /// every line's grid must lie in.</param>
    public static HouseholdImport Parse(string text, HouseholdTagCatalog tags, int maxRows = 10_000, string? region = null)
    {
        var header = region is null ? Header : RegionHeader;
        var errors = new List<CsvError>();
        var count = 0;
        void Error(int line, string? field, string message)
        {
            count++;
            if (errors.Count < MaxErrors)
            {
                errors.Add(new CsvError(line, field, message));
            }
        }

        var records = Records(text.StartsWith('\uFEFF') ? text[1..] : text, Error).ToList();
        if (records.Count == 0 || !records[0].Fields.Select(f => f.Trim().ToLowerInvariant()).SequenceEqual(header))
        {
            Error(1, null, $"The first line must be the header {string.Join(',', header)}");
            return new HouseholdImport([], errors, count);
        }

        var rows = new List<HouseholdRow>();
        var households = 0;     // data lines, good or bad: the limit is on the file, not on what passed
        var seen = new Dictionary<(string, string, string), int>();
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Trim().Length == 0)
            {
                continue;   // a blank line
            }

            if (++households > maxRows)
            {
                Error(line, null, $"More than {maxRows:N0} households in one file; split it");
                break;
            }

            if (fields.Count != header.Length)
            {
                Error(line, null, $"{fields.Count} columns where the header has {header.Length}");
                continue;
            }

            string? grid = null;
            if (region is not null)
            {
                grid = fields[0].Trim();
                if (!RegionCode.IsValid(grid, RegionLevel.Grid) || !grid.StartsWith(region, StringComparison.Ordinal))
                {
                    Error(line, "grid", $"'{grid}' is not the 15-digit code of a grid in {region}");
                    continue;
                }

            }

            if (Row(line, region is null ? fields : fields[1..], tags, Error) is { } parsed)
            {
                var row = parsed with { Grid = grid };
                var key = (grid ?? "", row.Building, row.Unit ?? "");
                if (seen.TryGetValue(key, out var first))
                {
                    Error(line, "unit", $"Building '{row.Building}' unit '{row.Unit}' is already on line {first}");
                }
                else
                {
                    seen[key] = line;
                    rows.Add(row);
                }
            }
        }

        return count == 0 ? new HouseholdImport(rows, [], 0) : new HouseholdImport([], errors, count);
    }

    /// <summary>One household given field by field (the API's JSON form), checked as a line of the file is; the first fault is a refusal naming its field.</summary>
    public static HouseholdRow One(string? building, string? unit, int? size, IReadOnlyList<string>? tags, string? name, string? phone, HouseholdTagCatalog catalog)
    {
        CsvError? first = null;
        var fields = new List<string>
        {
            building ?? "", unit ?? "", size?.ToString(CultureInfo.InvariantCulture) ?? "", string.Join(';', tags ?? []), name ?? "", phone ?? "",
        };
        var row = Row(1, fields, catalog, (line, field, message) => first ??= new CsvError(line, field, message));
        return row ?? throw new DomainException(DomainErrors.InvalidInput, $"{first!.Field}: {first.Message}", first.Field);
    }

    /// <summary>A person given field by field (the API's JSON form), or a refusal naming the field (<paramref name="field"/>.name, .phone, .idNumber).</summary>
    public static PersonInput Person(string? name, string? phone, string? idNumber, string field)
    {
        name = string.IsNullOrWhiteSpace(name) ? null : name.Trim();
        phone = string.IsNullOrWhiteSpace(phone) ? null : phone.Trim();
        idNumber = string.IsNullOrWhiteSpace(idNumber) ? null : idNumber.Trim().ToUpperInvariant();
        if (name is { Length: > 50 } || name?.Contains('*', StringComparison.Ordinal) == true)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A name is at most 50 characters and not masked ('*')", $"{field}.name");
        }

        if (phone is not null && (phone.Length > 24 || !IsPhone(phone)))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Not a phone number (digits, with + - or spaces)", $"{field}.phone");
        }

        if (idNumber is not null && !IsIdNumber(idNumber))
        {
            throw new DomainException(DomainErrors.InvalidInput, "Not a resident identity number (18 characters with a valid check digit)", $"{field}.idNumber");
        }

        return new PersonInput(name, phone, idNumber);
    }

    /// <summary>A resident identity number (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character (0–9 or X).</summary>
    public static bool IsIdNumber(string id)
    {
        if (id.Length != 18 || id.AsSpan(0, 17).ContainsAnyExcept("0123456789"))
        {
            return false;
        }

        ReadOnlySpan<int> weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            sum += (id[i] - '0') * weights[i];
        }

        return id[17] == "10X98765432"[sum % 11];
    }

    private static HouseholdRow? Row(int line, List<string> fields, HouseholdTagCatalog catalog, Action<int, string?, string> error)
    {
        var wrong = false;
        void Wrong(string field, string message)
        {
            wrong = true;
            error(line, field, message);
        }

        string? Text(int column, int maxLength, bool required)
        {
            var value = fields[column].Trim();
            if (value.Length == 0)
            {
                if (required)
                {
                    Wrong(Header[column], "is required");
                }

                return null;
            }

            if (value.Length > maxLength)
            {
                Wrong(Header[column], $"is longer than {maxLength} characters");
            }
            else if (value.Any(char.IsControl) || value.Any(char.IsSurrogate) && !IsWellFormed(value))
            {
                Wrong(Header[column], "holds a control character or broken text");
            }

            return value;
        }

        var building = Text(0, 100, required: true);
        var unit = Text(1, 20, required: false);
        var sizeText = fields[2].Trim();
        if (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size is < 1 or > MaxSize)
        {
            Wrong("size", $"'{sizeText}' is not a number of people from 1 to {MaxSize}");
        }

        var tags = ImmutableArray.CreateBuilder<string>();
        foreach (var code in fields[3].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal))
        {
            if (catalog.TryGet(code, out _))
            {
                tags.Add(code);
            }
            else
            {
                Wrong("tags", $"'{code}' is not a household tag of this city");
            }
        }

        var name = Text(4, 50, required: false);
        if (name is not null && name.Contains('*', StringComparison.Ordinal))
        {
            Wrong("name", "looks masked (holds '*'): an export is masked and cannot be imported back");
        }

        var phone = Text(5, 24, required: false);
        if (phone is not null && !IsPhone(phone))
        {
            Wrong("phone", "is not a phone number (digits, with + - or spaces)");
        }

        return wrong ? null : new HouseholdRow(line, building!, unit, size, tags.ToImmutable(), name, phone);
    }

    private static bool IsPhone(string phone)
    {
        var digits = phone.Count(char.IsAsciiDigit);
        return digits is >= 5 and <= 20
            && phone.Select((c, i) => char.IsAsciiDigit(c) || c is '-' or ' ' || (c == '+' && i == 0)).All(ok => ok);
    }

    private static bool IsWellFormed(string value)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(value);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>The file's records with the line each starts on; a quoted field may hold commas, quotes ("") and line breaks.</summary>
    private static IEnumerable<(int Line, List<string> Fields)> Records(string text, Action<int, string?, string> error)
    {
        var line = 1;
        var start = 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    any = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    any = true;
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\n' or '\r':
                    fields.Add(field.ToString());
                    yield return (start, fields);
                    (fields, any) = ([], false);
                    field.Clear();
                    start = ++line;
                    break;
                default:
                    field.Append(c);
                    any = true;
                    break;
            }
        }

        if (quoted)
        {
            error(start, null, "A quoted field is not closed");
        }

        if (any || field.Length > 0)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
