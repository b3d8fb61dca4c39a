using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace GridDispatch.Domain;

/// <summary>
/// Every incident's timeline entries, in one order that never changes once read: what a department's system follows
/// with a cursor (<c>GET /api/events?since=</c>). A page never holds an entry of a transaction that may still commit, so
/// an entry that was not in a page read up to a cursor is never added before that cursor later: a reader that keeps
/// its cursor misses nothing and reads nothing twice, across restarts of either side. An incident's entries come in
/// their sequence order.
/// </summary>
public interface IChangeFeed
{
    Task<FeedPage> ReadAsync(FeedQuery query, CancellationToken cancellationToken = default);
}

/// <summary>
/// What to read: after <see cref="After"/>, at most <see cref="Limit"/> entries, of incidents in grids under
/// <see cref="RegionPrefix"/>, of these <see cref="Kinds"/> and <see cref="Categories"/> (null: all).
/// </summary>
public sealed record FeedQuery(FeedCursor After, int Limit, string? RegionPrefix = null, IReadOnlySet<IncidentEventKind>? Kinds = null,
    IReadOnlySet<string>? Categories = null)
{
    /// <summary>Most entries one page may hold.</summary>
    public const int MaxLimit = 1000;

    /// <summary>
    /// Most rows one read looks at: a filter that matches little answers with fewer entries (even none) and a cursor
    /// further on, so a read costs the same whatever the filter.
    /// </summary>
    public const int MaxScan = 5000;

    public bool Filtered => RegionPrefix is not null || Kinds is not null || Categories is not null;

    /// <summary>Rows to look at for one page: the page itself unfiltered, up to <see cref="MaxScan"/> filtered.</summary>
    public int Scan => Filtered ? Math.Min(MaxScan, Math.Max(Limit * 10, 500)) : Limit;

    public bool Matches(string gridCode, string category, IncidentEventKind kind) =>
        (RegionPrefix is null || gridCode.StartsWith(RegionPrefix, StringComparison.Ordinal))
        && (Kinds is null || Kinds.Contains(kind))
        && (Categories is null || Categories.Contains(category));
}

/// <summary>One entry of the feed: the incident's grid and category (from its report) and the entry itself.</summary>
public sealed record FeedItem(FeedCursor Cursor, string IncidentId, string GridCode, string Category, TimelineEntry Entry);

/// <summary>
/// A page: its entries and the cursor to read on from (past every row looked at, matched or not). <see cref="More"/>:
/// there were more rows to look at than one read takes; false means the reader is at the end for now.
/// </summary>
public sealed record FeedPage(IReadOnlyList<FeedItem> Items, FeedCursor Next, bool More);

/// <summary>
/// A place in the feed: the position of the transaction that wrote the entry (PostgreSQL's transaction id; the append's
/// number in the embedded store), then the incident and sequence within it. Opaque to readers (base64url text).
/// </summary>
public readonly record struct FeedCursor(ulong Position, string IncidentId, int Seq) : IComparable<FeedCursor>
{
    public static readonly FeedCursor Start = new(0, "", 0);

    public int CompareTo(FeedCursor other)
    {
        var byPosition = Position.CompareTo(other.Position);
        if (byPosition != 0)
        {
            return byPosition;
        }

        var byIncident = string.CompareOrdinal(IncidentId, other.IncidentId);
        return byIncident != 0 ? byIncident : Seq.CompareTo(other.Seq);
    }

    /// <summary>The cursor as readers pass it back; the start is the empty text.</summary>
    public override string ToString() => Position == 0 && Seq == 0 && string.IsNullOrEmpty(IncidentId) ? "" :
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Position}:{Seq}:{IncidentId}")));

    /// <summary>Reads a cursor a page gave out; empty or "0" is the start. False for anything else.</summary>
    public static bool TryParse(string? text, out FeedCursor cursor)
    {
        cursor = Start;
        if (string.IsNullOrEmpty(text) || text == "0")
        {
            return true;
        }

        if (text.Length > 400)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        var parts = Encoding.UTF8.GetString(bytes).Split(':', 3);
        if (parts.Length != 3 || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || parts[2].Length is 0 or > 64)
        {
            return false;
        }

        cursor = new FeedCursor(position, parts[2], seq);
        return true;
    }
}
