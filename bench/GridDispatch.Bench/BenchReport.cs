using System.Runtime.InteropServices;
using System.Text.Json;

namespace GridDispatch.Bench;

/// <summary>
/// A scenario's figures: printed as a two-column table and written to <c>artifacts/bench/&lt;scenario&gt;.json</c>, with
/// the machine that produced them (cores, memory the runtime may use, .NET version, OS) so figures from different
/// machines are never compared unknowingly.
/// </summary>
public static class BenchReport
{
    public static Dictionary<string, object?> Machine() => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["memory_mib"] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["os"] = RuntimeInformation.OSDescription,
        ["server_gc"] = System.Runtime.GCSettings.IsServerGC,
        ["at"] = DateTimeOffset.UtcNow,
    };

    /// <summary>Nearest-rank percentile of an ascending array (the p99 of 100 samples is the 99th, not the largest).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static async Task WriteAsync(string scenario, IReadOnlyDictionary<string, object?> figures)
    {
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("| --- | --- |");
        foreach (var (key, value) in figures)
        {
            Console.WriteLine($"| {key} | {Show(value)} |");
        }

        var all = new Dictionary<string, object?>(figures) { ["machine"] = Machine() };
        Directory.CreateDirectory(Path.Combine("artifacts", "bench"));
        var path = Path.Combine("artifacts", "bench", $"{scenario}.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(all, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written {Path.GetFullPath(path)}");
    }

    private static string Show(object? value) => value switch
    {
        null => "—",
        double d => d.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
        System.Collections.IDictionary d => string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k} {Show(d[k])}")),
        System.Collections.ICollection c => $"{c.Count} entries (in the JSON)",
        _ => value.ToString() ?? "",
    };
}
