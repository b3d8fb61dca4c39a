using System.Security.Claims;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Http;
using GridDispatch.Domain;

namespace GridDispatch.Api.Endpoints;

/// <summary>One entry of the change feed as a reader sees it: where to read on from after it, the incident, and the entry.</summary>
public sealed record FeedEntryView(string Cursor, string IncidentId, string GridCode, string Category, TimelineEntry Entry);

/// <summary>
/// A page of the change feed: its entries, the cursor to pass as <c>since</c> next, and whether more is there now
/// (false: the reader is at the end; ask again later).
/// </summary>
public sealed record FeedPageView(IReadOnlyList<FeedEntryView> Items, string Next, bool More);

/// <summary>
/// GET /api/events: the change feed, so a department's system can follow the city's incidents (see <see cref="IChangeFeed"/>).
/// Who reads what is the policy's (<see cref="Act.EventsRead"/>): the supervisors of a region its incidents, a department
/// its own categories' in its city, without reporters.
/// </summary>
public static class FeedEndpoints
{
    public static RouteGroupBuilder MapFeed(this RouteGroupBuilder api)
    {
        api.MapGet("/events", ReadAsync).Produces<FeedPageView>()
            .WithSummary("The change feed: timeline entries in a stable order, by cursor")
            .WithDescription("since is the next of the previous page (empty: from the start); region is a region or grid code (default: the caller's); "
                + "kinds a comma-separated list of entry kinds (reported, dispatched, resolved, closed, …); limit 1–1000 (default 100). "
                + "A page may hold fewer entries than the limit, even none, with more=true: read on from next.");
        return api;
    }

    private static async Task<FeedPageView> ReadAsync(string? since, string? region, string? kinds, int? limit, HttpContext http, ClaimsPrincipal user,
        IChangeFeed feed, CategoryCatalog catalog, CancellationToken cancellationToken)
    {
        var caller = Caller.From(user);
        var code = string.IsNullOrEmpty(region) ? caller.City ?? caller.Scope ?? "" : region;
        if (!RegionCode.IsValid(code))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"region is a region or grid code (4, 6, 9, 12 or 15 digits), not '{code}'", "region");
        }

        http.AuditRegion(code);
        var decision = Policy.Require(caller, Act.EventsRead, Target.RegionOf(code), "region");
        if (!FeedCursor.TryParse(since, out var after))
        {
            throw new DomainException(DomainErrors.InvalidInput, "since is the next cursor of an earlier page (or empty for the start)", "since");
        }

        var count = limit ?? 100;
        if (count is < 1 or > FeedQuery.MaxLimit)
        {
            throw new DomainException(DomainErrors.InvalidInput, $"limit must be from 1 to {FeedQuery.MaxLimit}", "limit");
        }

        IReadOnlySet<string>? categories = decision.Grant.Role == CallerRole.Department
            ? catalog.All.Where(c => c.Department == caller.Department).Select(c => c.Code).ToHashSet(StringComparer.Ordinal)
            : null;
        var page = await feed.ReadAsync(new FeedQuery(after, count, code, KindsOf(kinds), categories), cancellationToken);
        return new FeedPageView(
            [.. page.Items.Select(i => new FeedEntryView(i.Cursor.ToString(), i.IncidentId, i.GridCode, i.Category,
                decision.Sight == Sight.Full ? i.Entry : Access.WithoutPersonalData(i.Entry)))],
            page.Next.ToString(), page.More);
    }

    private static HashSet<IncidentEventKind>? KindsOf(string? kinds)
    {
        if (string.IsNullOrWhiteSpace(kinds))
        {
            return null;
        }

        var set = new HashSet<IncidentEventKind>();
        foreach (var name in kinds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (name.Any(char.IsDigit) || !Enum.TryParse<IncidentEventKind>(name, ignoreCase: true, out var kind))
            {
                throw new DomainException(DomainErrors.InvalidInput,
                    $"kinds lists entry kinds ({string.Join(", ", Enum.GetNames<IncidentEventKind>().Select(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName))}), not '{name}'", "kinds");
            }

            set.Add(kind);
        }

        return set;
    }
}
