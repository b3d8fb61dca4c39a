using System.Net;
using GridDispatch.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace GridDispatch.Tests.Api;

/// <summary>The public board (/public): anonymous, cacheable, the grid's workers and closed cases, and no personal data anywhere.</summary>
[Collection(ApiCollection.Name)]
public sealed class PublicBoardTests(ApiFixture api)
{
    private const string Name = "王小明";
    private const string Phone = "13912345678";

    [Fact]
    public async Task The_board_shows_rates_workers_and_closed_cases_to_anyone_without_a_reporters_name_or_phone()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("zhao", [city.Grid]);
        await city.LoadAsync(api.Grains);
        var resident = $"resident-{city.Code}-board";
        var reported = await api.Grains.GetGrain<IIncidentGrain>(IncidentIds.For("app@" + resident, "board-1")).ReportAsync(new IncidentReport(
            "0101", Severity.Routine, city.Grid, $"{Name} {Phone} 楼下垃圾 rubbish at my door", "app@" + resident, "board-1",
            new Reporter(resident, Name, Phone, "3栋 1201"), new GeoPoint(22.5431, 114.0579), resident));
        var incident = api.Grains.GetGrain<IIncidentGrain>(reported.Incident.Id);
        await incident.AcknowledgeAsync(new ActorCommand(worker));
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "cleared"));
        await incident.VerifyAsync(new ActorCommand($"leader-{city.Code}"));
        await incident.RateAsync(new RateCommand(resident, 4));
        if ((await incident.GetAsync()).State != IncidentState.Closed)
        {
            await incident.CloseAsync(new ActorCommand($"leader-{city.Code}"));
        }

        await Eventually.Get(() => api.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Summary.Kpi.All.Closed == 1, what: "the closure counted");
        await Eventually.Get(() => api.Grains.GetRegion(city.Community).GetAsync(), r => r.Summary.Kpi.All.Closed == 1, what: "the closure rolled up");

        // Over HTTP without a token: 200, cacheable by anyone, and nothing personal in it.
        using var anonymous = api.Anonymous();
        var response = await anonymous.GetAsync($"/api/public/regions/{city.Community}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("public", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        var json = await response.Content.ReadAsStringAsync();
        foreach (var secret in new[] { Name, Phone, resident, "3栋 1201", "22.543", "rubbish at my door" })
        {
            Assert.DoesNotContain(secret, json, StringComparison.Ordinal);
        }

        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync();
        using var _ = playwright;
        await using var __ = browser;
        await page.GotoAsync(new Uri(api.BaseAddress, $"/public?region={city.Community}").ToString());
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Expect(page.Locator($"[data-grid='{city.Grid}']")).ToContainTextAsync("zhao");
        await Expect(page.Locator(".cases tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator(".cases tbody")).ToContainTextAsync("closed on time");
        await Expect(page.Locator(".rate").First).ToHaveAttributeAsync("data-colour", "green");
        await Expect(page.Locator(".rate").First).ToContainTextAsync("100.0 %");
        var text = await page.InnerTextAsync("body");
        Assert.DoesNotContain(Name, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Phone, text, StringComparison.Ordinal);
        await HeadlessChromium.ScreenshotAsync(page, "public");
        var audit = await HeadlessChromium.AuditAsync(page);
        Assert.True(audit.Count == 0, "public board: " + string.Join("\n", audit));

        // At a phone's width too, without sideways scrolling.
        await page.SetViewportSizeAsync(390, 844);
        Assert.Equal(0, await HeadlessChromium.OverflowAsync(page));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_bad_code_is_a_400_and_an_unknown_region_a_404_without_a_token()
    {
        using var anonymous = api.Anonymous();
        Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.GetAsync("/api/public/regions/12x")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/api/public/regions/9898")).StatusCode);
    }
}
