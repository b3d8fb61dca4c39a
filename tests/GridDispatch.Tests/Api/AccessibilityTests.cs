using System.Net.Http.Json;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Playwright;

namespace GridDispatch.Tests.Api;

/// <summary>
/// Every page of the dashboard passes axe-core's audit (from npm, src/Api/node_modules, injected by the test; the app
/// never serves it) with no serious or critical violation, in the real headless Chromium.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class AccessibilityTests(ApiFixture api)
{
    [Fact]
    public async Task Every_page_of_the_dashboard_passes_the_accessibility_audit()
    {
        var (playwright, browser, page, _) = await HeadlessChromium.OpenAsync();
        using var __ = playwright;
        await using var ___ = browser;
        var violations = new List<string>();

        // The sign-in picker, then each page a commander reaches: the city, a street, a grid with its register, a household, an incident.
        await page.GotoAsync(new Uri(api.BaseAddress, "/").ToString());
        await page.Locator("#login-user option[value='commander-city']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        violations.AddRange((await HeadlessChromium.AuditAsync(page)).Select(v => $"sign-in: {v}"));
        await DashboardTests.SignInAsync(page);

        const string grid = "449901002001003";
        var household = (await api.Grains.GetGrain<IRegisterGrain>(0).ListAsync(grid, null, null, 1, 1)).Items[0].Id;
        var incident = (await api.Grains.ReportAsync(Reports.Make(grid))).Id;
        foreach (var (name, hash, ready) in new[]
        {
            ("city", "#/", ".tile"),
            ("street", "#/region/449901002", "#register"),
            ("grid", $"#/grid/{grid}", "#register-households table"),
            ("household", $"#/household/{household}", "#visit-form"),
            ("incident", $"#/incident/{incident}", "#action-form"),
        })
        {
            await page.GotoAsync(new Uri(api.BaseAddress, "/" + hash).ToString());
            await page.WaitForSelectorAsync(ready);
            violations.AddRange((await HeadlessChromium.AuditAsync(page)).Select(v => $"{name}: {v}"));
        }

        Assert.True(violations.Count == 0, "serious or critical accessibility violations:\n" + string.Join("\n", violations));
    }

    [Fact]
    public async Task The_campaign_page_passes_the_accessibility_audit()
    {
        // A city of its own, so the sweep disturbs no other test: its commander launches one and opens its page.
        var city = TestCity.Create();
        city.AddWorker("a", [city.Grid]);
        await city.LoadAsync(api.Grains);
        var commander = $"commander-{city.Code}";
        using var client = api.As(commander, "commander", city.Code);
        var launched = await client.PostAsJsonAsync("/api/campaigns", new { scope = city.Street, kind = "sweep-buildings", title = "楼栋排查 Building sweep" });
        Assert.Equal(System.Net.HttpStatusCode.Created, launched.StatusCode);
        var id = (await launched.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<string>();

        var (playwright, browser, page, _) = await HeadlessChromium.OpenAsync();
        using var __ = playwright;
        await using var ___ = browser;
        await WorkerPageTests.SignInDashboardAsync(page, commander, "commander", city.Code);
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/campaign/{id}").ToString());
        await page.WaitForSelectorAsync("#accountability");
        await HeadlessChromium.ScreenshotAsync(page, "campaign-page");
        var violations = await HeadlessChromium.AuditAsync(page);
        Assert.True(violations.Count == 0, "campaign page:\n" + string.Join("\n", violations));
    }

    [Theory]
    [InlineData("/worker", "w449901001001001-1")]
    [InlineData("/report", "resident-1")]
    public async Task The_phone_pages_sign_in_passes_the_accessibility_audit_at_a_phones_size(string path, string user)
    {
        var (playwright, browser, page, _) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var __ = playwright;
        await using var ___ = browser;
        await page.GotoAsync(new Uri(api.BaseAddress, path).ToString());
        await page.Locator($"#login-user option[value='{user}']").WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Attached });
        Assert.Equal(0, await HeadlessChromium.OverflowAsync(page));
        var violations = await HeadlessChromium.AuditAsync(page);
        Assert.True(violations.Count == 0, $"{path} sign-in:\n" + string.Join("\n", violations));
    }
}
