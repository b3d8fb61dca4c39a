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
    /// <summary>Where the screenshot of the dashboard lands: regenerate with dotnet test --filter DashboardTests.</summary>
    public static string ScreenshotPath => Path.Combine(RepoPaths.Root, "artifacts", "screenshots", "dashboard.png");

    /// <summary>The login picker of the development issuer: choose a demo user, sign in.</summary>
    internal static async Task SignInAsync(IPage page, string user = "commander-city", string name = "City commander")
    {
        await page.Locator($"#login-user option[value='{user}']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.SelectOptionAsync("#login-user", user);
        await page.ClickAsync("#login-submit");
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Assertions.Expect(page.Locator("#user")).ToContainTextAsync(name);
    }

    [Fact]
    public async Task A_commander_switches_a_street_to_emergency_launches_a_sweep_and_watches_it_live()
    {
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        // The second street of the second district; the other browser test's community is below it, so stand down at the end.
        const string street = "449902002";
        const string community = street + "001";
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{street}").ToString());
        await SignInAsync(page);
        await Assertions.Expect(page.Locator($"#tile-{community} .mode")).ToHaveAttributeAsync("data-mode", "everyday");
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };

        await page.SelectOptionAsync("#command-mode", "emergency");
        await page.FillAsync("#command-reason", "Typhoon landfall expected tonight");
        await page.ClickAsync("#command-switch");
        await Assertions.Expect(page.Locator("#command-result")).ToContainTextAsync("Mode is now emergency");
        await Assertions.Expect(page.Locator($"#tile-{community} .mode")).ToHaveAttributeAsync("data-mode", "emergency", new() { Timeout = 15_000 });

        await page.ClickAsync("#campaign-launch");
        await Assertions.Expect(page.Locator("#command-result")).ToContainTextAsync("Campaign launched");
        var row = page.Locator($"#campaigns-{street} .campaign-row");
        await Assertions.Expect(row.Locator(".done")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^0/[1-9]\d*$"), new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator($"#tile-{community} .campaign-bar")).ToBeVisibleAsync();
        var campaignId = await row.GetAttributeAsync("data-campaign");

        // A worker finishes a building (over the API, as the worker's app would): the page follows without a reload.
        var campaign = await Eventually.Get(() => api.Grains.GetGrain<ICampaignGrain>(campaignId!).GetAsync(), c => c.Accountability.Length > 0);
        var task = campaign.Accountability[0];
        await api.Grains.FinishTaskAsync(task.TaskId, new SweepResult(task.WorkerId!, true, null, []));
        await Assertions.Expect(row.Locator(".done")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^1/[1-9]\d*$"), new() { Timeout = 15_000 });
        Assert.Equal(0, navigations);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(ScreenshotPath)!, "emergency.png"), FullPage = true });

        await page.ClickAsync($"#campaigns-{street} .campaign-row a");
        await Assertions.Expect(page.Locator("#campaign-status")).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator("#accountability tbody tr").First).ToBeVisibleAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(ScreenshotPath)!, "campaign.png"), FullPage = true });

        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{street}").ToString());
        await page.SelectOptionAsync("#command-mode", "everyday");
        await page.FillAsync("#command-reason", "Typhoon passed");
        await page.ClickAsync("#command-switch");
        await Assertions.Expect(page.Locator("#command-result")).ToContainTextAsync("Back to everyday");
        await Assertions.Expect(page.Locator($"#tile-{community} .mode")).ToHaveAttributeAsync("data-mode", "everyday", new() { Timeout = 15_000 });
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_street_administrator_starts_at_their_street_and_cannot_switch_its_mode()
    {
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        await page.GotoAsync(new Uri(api.BaseAddress, "/").ToString());
        await SignInAsync(page, "admin-449901001", "Street administrator 449901001");

        // Home is the street, with its communities; the city is out of reach.
        await Assertions.Expect(page.Locator("#tile-449901001001")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#tile-449901")).ToHaveCountAsync(0);
        await page.SelectOptionAsync("#command-mode", "emergency");
        await page.FillAsync("#command-reason", "not mine to switch");
        await page.ClickAsync("#command-switch");
        await Assertions.Expect(page.Locator("#command-result")).ToContainTextAsync("403");
        await Assertions.Expect(page.Locator("#tile-449901001001 .mode")).ToHaveAttributeAsync("data-mode", "everyday");

        await page.GotoAsync(new Uri(api.BaseAddress, "/#/region/449902").ToString());
        await Assertions.Expect(page.Locator("#view .error")).ToContainTextAsync("not-allowed");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Reporting_through_the_form_turns_the_grid_tile_red_without_a_reload()
    {
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        // A community of the second district, which no other test reports into.
        const string community = "449902002002";
        const string grid = community + "003";
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{community}").ToString());
        await SignInAsync(page);
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
        // Other tests report into the same host meanwhile, so this incident need not be the newest line of the feed.
        await Assertions.Expect(page.Locator("#feed li", new() { HasText = "0503" }).First).ToBeVisibleAsync();
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

    [Fact]
    public async Task The_register_lists_a_grids_buildings_and_households_and_a_regions_warnings_live()
    {
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        // A grid no other test touches: 57 generated households in one building.
        const string community = "449901002002";
        const string grid = community + "001";
        var households = await Eventually.Get(() => api.Grains.GetGrain<IRegisterGrain>(0).ListAsync(grid, null, null, 1, 100), p => p.Total == 57, what: "the demo register");
        var target = households.Items[3];
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/grid/{grid}").ToString());
        await SignInAsync(page);
        await Assertions.Expect(page.Locator("#register-households tbody tr")).ToHaveCountAsync(57);
        await Assertions.Expect(page.Locator("#register-buildings tbody tr")).ToHaveCountAsync(1);
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };

        // A leader marks a household red (over the API, as their phone would): the grid's counts follow without a reload.
        await api.Grains.GetGrain<IHouseholdGrain>(target.Id).SetColourAsync(new ColourCommand("leader", Colour.Red, "gas smell reported by neighbours"));
        await Assertions.Expect(page.Locator($"#households-{grid}")).ToContainTextAsync("warnings 1", new() { Timeout = 15_000 });
        Assert.Equal(0, navigations);

        // Filtered by colour, the list holds that household; its page shows its people, why it is red, and takes a visit.
        await page.SelectOptionAsync("#register-colour", "red");
        await Assertions.Expect(page.Locator("#register-households tbody tr")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(ScreenshotPath)!, "register.png"), FullPage = true });
        await page.ClickAsync("#register-households tbody tr a");
        await Assertions.Expect(page.Locator("#household-colour")).ToHaveTextAsync("red");
        await Assertions.Expect(page.Locator("#view")).ToContainTextAsync("gas smell reported by neighbours");
        var person = (await api.Grains.GetGrain<IHouseholdGrain>(target.Id).GetAsync()).People.FirstOrDefault();
        if (person?.Phone is { } phone)
        {
            await Assertions.Expect(page.Locator("#view")).ToContainTextAsync(phone);
        }

        await page.FillAsync("#visit-note", "visited with the gas company");
        await page.ClickAsync("#visit-form button[type='submit']");
        await Assertions.Expect(page.Locator(".timeline")).ToContainTextAsync("visited with the gas company");

        // The community's page counts the red household and queues its warning.
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/region/{community}").ToString());
        await Assertions.Expect(page.Locator($"#household-counts-{grid}")).ToContainTextAsync("57");
        await Assertions.Expect(page.Locator("#warnings-queue tbody tr", new() { HasText = "red" })).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(ScreenshotPath)!, "register-region.png"), FullPage = true });
        Assert.Empty(errors);
    }
}
