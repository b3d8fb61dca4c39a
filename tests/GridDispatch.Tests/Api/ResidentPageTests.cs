using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GridDispatch.Tests.Api;

/// <summary>The resident's page (/report) at 390 × 844: a report with a photo, followed in "my reports", rated when asked.</summary>
[Collection(ApiCollection.Name)]
public sealed class ResidentPageTests(ApiFixture api)
{
    [Fact]
    public async Task A_resident_reports_with_a_photo_sees_it_in_my_reports_and_rates_it_when_asked()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("wang", [city.Grid]);
        await city.LoadAsync(api.Grains);
        var resident = $"resident-{city.Code}-page";
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await WorkerPageTests.SignInAsync(page, "gd_resident", resident, "resident", city.Grid);
        await page.GotoAsync(new Uri(api.BaseAddress, "/report").ToString());
        await page.WaitForSelectorAsync("body[data-ready='true']");
        Assert.Equal(0, await HeadlessChromium.OverflowAsync(page));

        await page.SelectOptionAsync("#report-category", "0403");
        await page.FillAsync("#report-description", "小区门口僵尸车 An abandoned car at the gate");
        await page.SetInputFilesAsync("#report-photos", new FilePayload { Name = "car.jpg", MimeType = "image/jpeg", Buffer = PhotoApiTests.Picture() });
        await page.FillAsync("#report-grid", city.Grid);
        await page.ClickAsync("#report-submit");
        var mine = page.Locator("#mine li[data-id]");
        await Expect(mine).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(mine).ToContainTextAsync("abandoned car");
        await Expect(mine.Locator("button.photo img[src^='blob:']")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        var id = await mine.GetAttributeAsync("data-id");
        var report = await api.Grains.GetGrain<IIncidentGrain>(id!).GetAsync();
        Assert.Equal((resident, "0403", 1), (report.Reporter!.Id, report.Category, report.Timeline[0].Photos!.Count));
        await HeadlessChromium.ScreenshotAsync(page, "report");
        var audit = await HeadlessChromium.AuditAsync(page);
        Assert.True(audit.Count == 0, "report page: " + string.Join("\n", audit));

        // The worker handles it and the leader checks it: the resident is asked to rate, and does.
        var incident = api.Grains.GetGrain<IIncidentGrain>(id!);
        await incident.AcknowledgeAsync(new ActorCommand(worker));
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "towed away"));
        await incident.VerifyAsync(new ActorCommand($"leader-{city.Code}"));
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await page.ClickAsync("#mine li[data-state='verified'] [data-stars='5']");
        await Expect(page.Locator($"#mine li[data-id='{id}']")).Not.ToHaveAttributeAsync("data-state", "verified", new() { Timeout = 15_000 });
        Assert.Equal(5, (await incident.GetAsync()).Rating);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_report_with_a_location_and_no_grid_code_lands_in_the_nearest_grid_and_is_listed_as_mine()
    {
        using var resident = api.As("resident-near", "resident");
        // 30 m from the centre of the demo city's grid 449901001001002 (22.54, 114.0545).
        var response = await resident.PostAsJsonAsync("/api/incidents",
            new { category = "0101", severity = "routine", description = "Rubbish here", location = new { latitude = 22.5402, longitude = 114.0547 } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("449901001001002", created["gridCode"]!.GetValue<string>());
        var mine = (await resident.GetFromJsonAsync<JsonArray>("/api/me/reports"))!;
        Assert.Equal(created["id"]!.GetValue<string>(), mine[0]!["id"]!.GetValue<string>());

        // Far from every grid: a 400 naming gridCode, nothing reported.
        var far = await resident.PostAsJsonAsync("/api/incidents",
            new { category = "0101", severity = "routine", description = "Rubbish", location = new { latitude = 40.0, longitude = 116.4 } });
        Assert.Equal(HttpStatusCode.BadRequest, far.StatusCode);
        Assert.Equal("gridCode", (await far.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        Assert.Single((await resident.GetFromJsonAsync<JsonArray>("/api/me/reports"))!);
        await api.Grains.GetGrain<IIncidentGrain>(created["id"]!.GetValue<string>()).CancelAsync(new ActorCommand("leader-449901001001002", "test done"));  // leave the demo grid as found
    }
}
