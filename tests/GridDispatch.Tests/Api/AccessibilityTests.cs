using System.Text.Json;
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
    private static readonly string Axe = Path.Combine(RepoPaths.ApiProject, "node_modules", "axe-core", "axe.min.js");

    /// <summary>The serious and critical violations on the page as it is now: "rule: first targets" each.</summary>
    private static async Task<IReadOnlyList<string>> AuditAsync(IPage page)
    {
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = Axe });
        var found = await page.EvaluateAsync<JsonElement>("""
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)
            """);
        return [.. found.EnumerateArray().Select(v => v.GetString()!)];
    }

    [Fact]
    public async Task Every_page_of_the_dashboard_passes_the_accessibility_audit()
    {
        Assert.True(File.Exists(Axe), $"{Axe} is missing: the Api build runs npm ci");
        var (playwright, browser, page, _) = await HeadlessChromium.OpenAsync();
        using var __ = playwright;
        await using var ___ = browser;
        var violations = new List<string>();

        // The sign-in picker, then each page a commander reaches: the city, a street, a grid with its register, a household, an incident.
        await page.GotoAsync(new Uri(api.BaseAddress, "/").ToString());
        await page.Locator("#login-user option[value='commander-city']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        violations.AddRange((await AuditAsync(page)).Select(v => $"sign-in: {v}"));
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
            violations.AddRange((await AuditAsync(page)).Select(v => $"{name}: {v}"));
        }

        Assert.True(violations.Count == 0, "serious or critical accessibility violations:\n" + string.Join("\n", violations));
    }
}
