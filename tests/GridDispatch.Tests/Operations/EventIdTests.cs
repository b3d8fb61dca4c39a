using System.Text.RegularExpressions;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Operations;

/// <summary>Every log event of the code has an id of its own, so an alert or a query on an id finds one kind of line.</summary>
public sealed partial class EventIdTests
{
    [GeneratedRegex(@"EventId\s*=\s*(\d+)|new EventId\((\d+)")]
    private static partial Regex EventIds();

    [Fact]
    public void No_two_log_events_share_an_id()
    {
        var uses = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(RepoPaths.Root, f), Line: i + 1, Text: line)))
            .SelectMany(l => EventIds().Matches(l.Text).Select(m => (Id: int.Parse(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value), l.File, l.Line)))
            .ToList();
        Assert.True(uses.Count > 50, $"only {uses.Count} event ids found: is the pattern still right?");
        var twice = uses.GroupBy(u => u.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(u => $"{u.File}:{u.Line}"))}").ToList();
        Assert.True(twice.Count == 0, "event ids used twice:\n" + string.Join("\n", twice));
    }
}
