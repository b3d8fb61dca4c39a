using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GridDispatch.Tests.Api;

/// <summary>
/// The grid worker's phone page (/worker) in headless Chromium at 390 × 844: an offer arrives live, is accepted, started
/// and resolved with a photo that the incident's timeline then shows; and the same with the network cut, where the
/// steps wait in the outbox (through a reload) and land once when it returns.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class WorkerPageTests(ApiFixture api)
{
    /// <summary>Signs the page in as a phone page would stay signed in (localStorage), and the dashboard as <paramref name="leader"/>.</summary>
    internal static async Task SignInAsync(IPage page, string key, string id, string role, string scope, string? leader = null)
    {
        await Session(page, "localStorage", key, id, role, scope);
        if (leader is not null)
        {
            await SignInDashboardAsync(page, leader, "grid-leader", scope);
        }
    }

    /// <summary>Signs the dashboard in (its token lives in sessionStorage) as any user of any region, as a real issuer's token would.</summary>
    internal static Task SignInDashboardAsync(IPage page, string id, string role, string scope) => Session(page, "sessionStorage", "gd", id, role, scope);

    private static Task Session(IPage page, string storage, string key, string id, string role, string scope) =>
        page.Context.AddInitScriptAsync($$"""
            {{storage}}.setItem('{{key}}_token', {{JsonSerializer.Serialize(ApiFixture.Sign(id, role, scope))}});
            {{storage}}.setItem('{{key}}_user', {{JsonSerializer.Serialize(JsonSerializer.Serialize(new { id, name = id, role, scope }))}});
            """);

    private async Task<(TestCity City, string Worker)> CityAsync()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("li", [city.Grid]);
        await city.LoadAsync(api.Grains);
        return (city, worker);
    }

    private async Task<string> ReportAsync(TestCity city, string what)
    {
        using var resident = api.As($"resident-{city.Code}", "resident");
        var response = await resident.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = city.Grid, description = what });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private async Task OpenAsync(IPage page, string worker, TestCity city)
    {
        await SignInAsync(page, "gd_worker", worker, "worker", city.Grid, leader: $"leader-{city.Code}");
        await page.GotoAsync(new Uri(api.BaseAddress, "/worker").ToString());
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
    }

    private static FilePayload Photo(string name) => new() { Name = name, MimeType = "image/jpeg", Buffer = PhotoApiTests.Picture() };

    [Fact]
    public async Task An_offer_arrives_live_and_is_accepted_started_and_resolved_with_a_photo_the_timeline_shows()
    {
        var (city, worker) = await CityAsync();
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await OpenAsync(page, worker, city);
        Assert.Equal(0, await HeadlessChromium.OverflowAsync(page));

        var id = await ReportAsync(city, "路灯不亮 Street lamp out by gate 3");
        var offer = page.Locator($"#offers li[data-id='{id}']");
        await Expect(offer).ToBeVisibleAsync(new() { Timeout = 15_000 });     // pushed: no reload
        await Expect(offer).ToContainTextAsync("Street lamp out");
        await Expect(offer.Locator(".due")).ToContainTextAsync("left to accept");
        Assert.Equal(0, await HeadlessChromium.OverflowAsync(page));
        var accept = await offer.Locator("[data-act='acknowledge']").BoundingBoxAsync();
        Assert.True(accept!.Height >= 44 && accept.Width >= 44, $"the accept button is {accept.Width} × {accept.Height}");
        await HeadlessChromium.ScreenshotAsync(page, "worker");
        var audit = await HeadlessChromium.AuditAsync(page);
        Assert.True(audit.Count == 0, "worker page: " + string.Join("\n", audit));

        await offer.Locator("[data-act='acknowledge']").ClickAsync();
        var accepted = page.Locator($"#tasks li[data-id='{id}'][data-status='acknowledged']");
        await accepted.Locator("[data-act='start']").ClickAsync();
        var working = page.Locator($"#tasks li[data-id='{id}'][data-status='inProgress']");
        await Expect(working).ToContainTextAsync("Street lamp out");     // drawn with its details: the card typed into stays
        await working.Locator("[data-field='note']").FillAsync("换了灯泡 replaced the bulb");
        await working.Locator("[data-field='photos']").SetInputFilesAsync(Photo("after.jpg"));
        await working.Locator("[data-act='resolve']").ClickAsync();
        await Expect(page.Locator($"#tasks li[data-id='{id}'][data-status='resolved']")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0");

        var view = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
        var resolved = Assert.Single(view.Timeline, e => e.Kind == IncidentEventKind.Resolved);
        Assert.Equal((worker, "换了灯泡 replaced the bulb", 1), (resolved.Actor, resolved.Reason, resolved.Photos!.Count));

        // The grid's leader opens the incident on the dashboard: the resolve carries its photo's thumbnail.
        await page.GotoAsync(new Uri(api.BaseAddress, $"/#/incident/{id}").ToString());
        await Expect(page.Locator(".timeline button.photo img[src^='blob:']")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await HeadlessChromium.ScreenshotAsync(page, "incident-photo");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task With_the_network_cut_steps_wait_in_the_outbox_through_a_reload_and_land_once_when_it_returns()
    {
        var (city, worker) = await CityAsync();
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await OpenAsync(page, worker, city);
        // The shell is cached by the service worker before the network goes.
        Assert.True(await page.EvaluateAsync<bool>("""
            () => Promise.race([
                new Promise((r) => setTimeout(() => r(false), 15000)),
                (async () => {
                    await navigator.serviceWorker.ready;
                    while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 100));
                    return (await (await caches.open('griddispatch-shell-v1')).keys()).length >= 11;
                })()])
            """), "the service worker controls the page with the shell cached");

        var id = await ReportAsync(city, "井盖松动 Loose manhole cover");
        var offer = page.Locator($"#offers li[data-id='{id}']");
        await offer.Locator("[data-act='acknowledge']").ClickAsync(new() { Timeout = 15_000 });
        var accepted = page.Locator($"#tasks li[data-id='{id}'][data-status='acknowledged']");
        await Expect(accepted).ToBeVisibleAsync(new() { Timeout = 15_000 });

        // Offline: the start waits, says so, and the incident has not moved.
        await page.Context.SetOfflineAsync(true);
        await accepted.Locator("[data-act='start']").ClickAsync();
        await Expect(page.Locator("#outbox")).ToContainTextAsync("1 waiting to be sent");
        await Task.Delay(2000);     // long enough for a send that should not happen
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "1");
        await Expect(page.Locator($"#tasks li[data-id='{id}']")).ToContainTextAsync("waiting to be sent");
        Assert.Equal(IncidentState.Dispatched, (await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).State);

        // Back online it is sent, once.
        await page.Context.SetOfflineAsync(false);
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 30_000 });
        var working = page.Locator($"#tasks li[data-id='{id}'][data-status='inProgress']");
        await Expect(working).ToContainTextAsync("Loose manhole cover", new() { Timeout = 15_000 });

        // Offline again: the resolve with its photo waits, and still waits after the page is reloaded from the cache.
        await page.Context.SetOfflineAsync(true);
        await working.Locator("[data-field='note']").FillAsync("fixed offline");
        await working.Locator("[data-field='photos']").SetInputFilesAsync(Photo("offline.jpg"));
        await working.Locator("[data-act='resolve']").ClickAsync();
        await Expect(page.Locator("#outbox")).ToContainTextAsync("1 waiting to be sent");
        await Task.Delay(2000);
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "1");
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Expect(page.Locator("#outbox")).ToContainTextAsync("resolve");
        await HeadlessChromium.ScreenshotAsync(page, "worker-offline");
        Assert.Equal(IncidentState.InProgress, (await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).State);

        await page.Context.SetOfflineAsync(false);
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 30_000 });
        var view = await Eventually.Get(() => api.Grains.GetGrain<IIncidentGrain>(id).GetAsync(), v => v.State == IncidentState.Resolved);
        Assert.Equal((1, 1, 1), (view.Timeline.Count(e => e.Kind == IncidentEventKind.WorkStarted), view.Timeline.Count(e => e.Kind == IncidentEventKind.Resolved),
            view.Timeline.Single(e => e.Kind == IncidentEventKind.Resolved).Photos!.Count));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task On_patrol_the_worker_shares_a_position_and_reports_a_finding_where_they_stand_in_one_tap()
    {
        var (city, worker) = await CityAsync();
        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await page.Context.GrantPermissionsAsync(["geolocation"]);
        await page.Context.SetGeolocationAsync(new Geolocation { Latitude = 22.5431f, Longitude = 114.0579f });
        await OpenAsync(page, worker, city);

        await page.ClickAsync("[data-status='onPatrol']");
        await Expect(page.Locator("[data-status='onPatrol']")).ToHaveAttributeAsync("aria-pressed", "true", new() { Timeout = 15_000 });
        await page.ClickAsync("#share-position");
        await Eventually.Get(() => api.Grains.GetGrain<IWorkerGrain>(worker).GetAsync(), w => w.Status == WorkerStatus.OnPatrol && w.Location is { Latitude: > 22.54 });

        await page.ClickAsync("#finding-submit");       // the category is chosen, the place is where the phone is
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 15_000 });
        var grid = await Eventually.Get(() => api.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.OpenIncidents.Length == 1, what: "the finding reported");
        var finding = await api.Grains.GetGrain<IIncidentGrain>(grid.OpenIncidents[0].Id).GetAsync();
        Assert.Equal(worker, finding.Timeline[0].Actor);
        Assert.Equal(22.5431, finding.Location!.Latitude, 3);
        Assert.StartsWith("Found on patrol", finding.Description, StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_sweep_task_is_started_and_finished_with_a_finding_and_a_photo_from_the_phone()
    {
        var city = TestCity.Create(buildings: 1);
        var worker = city.AddWorker("sweep", [city.Grid]);
        await city.LoadAsync(api.Grains);
        using var commander = api.As($"commander-{city.Code}", "commander", city.Code);
        var launched = await commander.PostAsJsonAsync("/api/campaigns", new { scope = city.Street, kind = "sweep-buildings", title = "楼栋排查 Sweep" });
        Assert.Equal(HttpStatusCode.Created, launched.StatusCode);

        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await OpenAsync(page, worker, city);
        var task = page.Locator("#campaign li[data-campaign]").First;
        await Expect(task).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var taskId = await task.GetAttributeAsync("data-id");
        await task.Locator("[data-act='task-start']").ClickAsync();
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 15_000 });

        var card = page.Locator($"#campaign li[data-id='{taskId}']");
        // The card is drawn again for its new state (started: no Start button); what is typed before that is typed into the old one.
        await Expect(card.Locator("[data-act='task-start']")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        await card.Locator("[data-field='note']").FillAsync("楼道堆物 things piled in the stairwell");
        await card.Locator("[data-field='finding']").SelectOptionAsync("1201");
        await card.Locator("[data-field='photos']").SetInputFilesAsync(Photo("stairwell.jpg"));
        await card.Locator("[data-act='task-done']").ClickAsync();
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 15_000 });

        var done = await Eventually.Get(() => api.Grains.GridOf(taskId!).GetSweepTaskAsync(taskId!), t => t.Status == SweepTaskStatus.Done, what: "the task done");
        Assert.Equal((1, "楼道堆物 things piled in the stairwell"), (done.Photos!.Count, done.Note));
        var grid = await Eventually.Get(() => api.Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.OpenIncidents.Any(i => i.Category == "1201"), what: "the finding reported");
        Assert.Single(grid.OpenIncidents, i => i.Category == "1201");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_card_being_typed_in_is_not_drawn_again_under_the_workers_hands_but_once_they_leave_it()
    {
        var city = TestCity.Create(buildings: 1);
        var worker = city.AddWorker("typist", [city.Grid]);
        await city.LoadAsync(api.Grains);
        using var commander = api.As($"commander-{city.Code}", "commander", city.Code);
        var launched = await commander.PostAsJsonAsync("/api/campaigns", new { scope = city.Street, kind = "sweep-buildings", title = "楼栋排查 Sweep" });
        Assert.Equal(HttpStatusCode.Created, launched.StatusCode);

        var (playwright, browser, page, errors) = await HeadlessChromium.OpenAsync(HeadlessChromium.Phone);
        using var _ = playwright;
        await using var __ = browser;
        await OpenAsync(page, worker, city);
        var task = page.Locator("#campaign li[data-campaign]").First;
        await Expect(task).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var taskId = await task.GetAttributeAsync("data-id");
        var card = page.Locator($"#campaign li[data-id='{taskId}']");
        await Expect(card).ToHaveAttributeAsync("data-key", new System.Text.RegularExpressions.Regex(":true$"), new() { Timeout = 15_000 });   // its details are in
        var first = await card.ElementHandleAsync();

        // The worker taps the note and types; meanwhile the task is started elsewhere (their other phone). The push
        // leaves the card they type in as it is (marked stale), and they go on typing without tapping the field again.
        await card.Locator("[data-field='note']").ClickAsync();
        await page.Keyboard.TypeAsync("楼道堆物 ");
        using var phone = api.As(worker, "worker", city.Grid);
        var started = await phone.PostAsJsonAsync($"/api/campaigns/tasks/{Uri.EscapeDataString(taskId!)}/start", new { });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        await Expect(card).ToHaveAttributeAsync("data-stale", "1", new() { Timeout = 15_000 });
        await page.Keyboard.TypeAsync("in the stairwell");
        Assert.True(await first.EvaluateAsync<bool>("li => li.isConnected"), "the card was drawn again while the worker typed in it");

        // Leaving the field draws the card for its new state (started: no Start button), with the note in it.
        await page.Locator(":focus").BlurAsync();
        await Expect(card.Locator("[data-act='task-start']")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        await Expect(card.Locator("[data-field='note']")).ToHaveValueAsync("楼道堆物 in the stairwell");
        await card.Locator("[data-act='task-done']").ClickAsync();
        await Expect(page.Locator("#outbox")).ToHaveAttributeAsync("data-pending", "0", new() { Timeout = 15_000 });

        var done = await Eventually.Get(() => api.Grains.GridOf(taskId!).GetSweepTaskAsync(taskId!), t => t.Status == SweepTaskStatus.Done, what: "the task done");
        Assert.Equal("楼道堆物 in the stairwell", done.Note);
        Assert.Empty(errors);
    }
}
