using System.Diagnostics;
using GridDispatch.Telemetry;

namespace GridDispatch.Silo.Telemetry;

/// <summary>
/// The span of one group commit. A commit writes for many callers at once, so it cannot be each one's child: it is the
/// child of the first caller's span (a lone request's trace reaches the database as one tree) and links to the others'
/// (at most <see cref="MaxLinks"/>), so every waiting request's trace leads to the commit that wrote it. The database
/// commands run inside it, and Npgsql's spans are its children.
/// </summary>
public static class CommitSpans
{
    public const int MaxLinks = 32;

    public static readonly ActivitySource Source = new(EngineMetrics.MeterName);

    /// <summary>The caller's span context, taken when an operation is queued (none when nobody traces).</summary>
    public static ActivityContext Caller() => Activity.Current?.Context ?? default;

    public static Activity? Start(string name, IEnumerable<ActivityContext> callers, int size)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var traced = callers.Where(c => c != default).Distinct().Take(MaxLinks + 1).ToList();
        var parent = traced.Count > 0 ? traced[0] : default;
        var span = Source.StartActivity(name, ActivityKind.Internal, parent, links: traced.Skip(1).Select(c => new ActivityLink(c)));
        span?.SetTag("griddispatch.batch.size", size);
        return span;
    }
}
