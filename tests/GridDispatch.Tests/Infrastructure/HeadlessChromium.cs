using System.Text.Json;
using Microsoft.Playwright;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright through its executable path (Playwright's own browser download
/// cannot work here): one page (1400 × 1000 unless a phone's size is asked for) in its own context and the script
/// errors it raises; axe-core's audit and screenshots under artifacts/screenshots. Fails — never skips — when
/// Chromium is missing: .ci/run installs it.
/// </summary>
public static class HeadlessChromium
{
    public const string Executable = "/usr/bin/chromium";

    /// <summary>A phone's screen, as the issue tests the worker's and resident's pages.</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private static readonly string Axe = Path.Combine(RepoPaths.ApiProject, "node_modules", "axe-core", "axe.min.js");

    /// <summary>Dispose the browser, then the Playwright instance.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser, IPage Page, List<string> Errors)> OpenAsync(ViewportSize? viewport = null)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: apt-get install chromium (.ci/run does)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
        var phone = viewport is { Width: < 800 };
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = viewport ?? new ViewportSize { Width = 1400, Height = 1000 },
            IsMobile = phone,
            HasTouch = phone,
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        return (playwright, browser, page, errors);
    }

    /// <summary>The serious and critical violations axe-core finds on the page as it is now: "rule (impact): first targets" each.</summary>
    public static async Task<IReadOnlyList<string>> AuditAsync(IPage page)
    {
        Assert.True(File.Exists(Axe), $"{Axe} is missing: the Api build runs npm ci");
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = Axe });
        var found = await page.EvaluateAsync<JsonElement>("""
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)
            """);
        return [.. found.EnumerateArray().Select(v => v.GetString()!)];
    }

    /// <summary>A full-page screenshot at artifacts/screenshots/{name}.png.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(RepoPaths.Root, "artifacts", "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
    }

    /// <summary>How far the page is wider than its viewport (0 when it never scrolls sideways).</summary>
    public static Task<int> OverflowAsync(IPage page) =>
        page.EvaluateAsync<int>("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)");
}
