using GridDispatch.Tests.Infrastructure;
using Microsoft.Playwright;

namespace GridDispatch.Tests.Api;

/// <summary>
/// The dashboard in a real headless Chromium (Debian's, driven by Playwright through its executable path).
/// Fails — never skips — when Chromium is missing: .ci/run installs it.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class DashboardTests(ApiFixture api)
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Where the screenshot of the dashboard lands: regenerate with dotnet test --filter DashboardTests.</summary>
    public static string ScreenshotPath => Path.Combine(RepoPaths.Root, "artifacts", "screenshots", "dashboard.png");

    [Fact]
    public async Task Reporting_through_the_form_turns_the_grid_tile_red_without_a_reload()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (.ci/run does)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        // A community of the second district, which no other test reports into.
        const string community = "449902002002";
        const string grid = community + "003";
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{community}").ToString());
        await page.WaitForSelectorAsync("body[data-ready='true']");
        var tile = page.Locator($"#tile-{grid}");
        await Assertions.Expect(tile).ToHaveAttributeAsync("data-colour", "green");
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(tile.Locator(".mode")).ToHaveAttributeAsync("data-mode", "everyday");
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };

        await page.FillAsync("#report-grid", grid);
        await page.SelectOptionAsync("#report-category", "0503");
        await page.SelectOptionAsync("#report-severity", "critical");
        await page.FillAsync("#report-description", "Smell of gas at the stairwell of building 3");
        await page.ClickAsync("#report-submit");

        await Assertions.Expect(page.Locator("#report-link")).ToBeVisibleAsync();
        await Assertions.Expect(tile).ToHaveAttributeAsync("data-colour", "red", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#feed li").First).ToContainTextAsync("0503");
        Assert.Equal(0, navigations); // the page never reloaded
        Assert.Empty(errors);

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });

        // Follow the link to the incident page: its timeline and the actions the loop allows are there.
        await page.ClickAsync("#report-link");
        await Assertions.Expect(page.Locator("#incident-state")).ToHaveTextAsync("dispatched");
        await Assertions.Expect(page.Locator("button[data-action='start']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("button[data-action='verify']")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(ScreenshotPath)!, "incident.png"), FullPage = true });
    }
}
