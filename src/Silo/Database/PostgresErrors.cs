using System.Text;
using Npgsql;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Tells a failure that retrying can never cure (this data cannot be stored) from one that time may cure (the database
/// is away, busy or restarting). Writers keep and retry a batch only for the second kind; for the first they set the
/// offending rows aside, so one bad row cannot hold up everything queued behind it.
/// </summary>
public static class PostgresErrors
{
    /// <summary>
    /// True for SQL state class 22 (data exception: 22P05 untranslatable character, 22021 character not in repertoire,
    /// 22001 string too long, 22P02 invalid text…), class 23 (integrity constraint; what an ON CONFLICT clause absorbs
    /// never surfaces) and class 54 (program limit exceeded, e.g. 54000), and for text the client cannot even encode
    /// (an unpaired UTF-16 surrogate). Connection failures, timeouts, shutdowns (57P01) and everything else are not
    /// permanent.
    /// </summary>
    public static bool IsPermanent(Exception exception) => exception switch
    {
        PostgresException postgres => IsPermanent(postgres.SqlState),
        EncoderFallbackException => true,
        _ => false,
    };

    /// <summary>Whether a five-character SQL state names a permanent failure (see <see cref="IsPermanent(Exception)"/>).</summary>
    public static bool IsPermanent(string sqlState) =>
        sqlState.StartsWith("22", StringComparison.Ordinal)
        || sqlState.StartsWith("23", StringComparison.Ordinal)
        || sqlState.StartsWith("54", StringComparison.Ordinal);

    /// <summary>The SQL state of a database error, or null when the failure happened before the server saw the row.</summary>
    public static string? SqlState(Exception exception) => (exception as PostgresException)?.SqlState;
}

/// <summary>Makes any .NET string storable in a PostgreSQL text or varchar column.</summary>
public static class PostgresText
{
    /// <summary>What a NUL character becomes: the visible six characters <c>\u0000</c> (text cannot hold NUL).</summary>
    public const string NulEscape = "\\u0000";

    /// <summary>
    /// Replaces NUL with <see cref="NulEscape"/> and unpaired surrogates (which UTF-8 cannot encode) with U+FFFD, then
    /// clips to <paramref name="maxLength"/> UTF-16 units without splitting a surrogate pair (PostgreSQL counts
    /// characters, never more than .NET's units, so the result fits a varchar(<paramref name="maxLength"/>)).
    /// </summary>
    public static string Clean(string value, int maxLength)
    {
        var clean = IsClean(value) ? value : Rewrite(value);
        if (clean.Length <= maxLength)
        {
            return clean;
        }

        var cut = maxLength;
        if (cut > 0 && char.IsHighSurrogate(clean[cut - 1]))
        {
            cut--;
        }

        return clean[..cut];
    }

    private static bool IsClean(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    private static string Rewrite(string value)
    {
        var text = new StringBuilder(value.Length + 16);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                text.Append(NulEscape);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                text.Append(c).Append(value[++i]);
            }
            else
            {
                text.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return text.ToString();
    }
}
