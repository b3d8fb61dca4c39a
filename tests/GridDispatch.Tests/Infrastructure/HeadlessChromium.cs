using Microsoft.Playwright;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright through its executable path (Playwright's own browser download
/// cannot work here): one page at 1400 × 1000 and the script errors it raises. Fails — never skips — when Chromium is
/// missing: .ci/run installs it.
/// </summary>
public static class HeadlessChromium
{
    public const string Executable = "/usr/bin/chromium";

    /// <summary>Dispose the browser, then the Playwright instance.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser, IPage Page, List<string> Errors)> OpenAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: apt-get install chromium (.ci/run does)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        return (playwright, browser, page, errors);
    }
}
