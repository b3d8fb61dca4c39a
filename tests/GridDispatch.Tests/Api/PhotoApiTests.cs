using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GridDispatch.Tests.Infrastructure;
using SkiaSharp;

namespace GridDispatch.Tests.Api;

/// <summary>Photos: checked and re-encoded on upload, bound to what uses them, shown in the timeline, seen only by its readers.</summary>
[Collection(ApiCollection.Name)]
public sealed class PhotoApiTests(ApiFixture api)
{
    /// <summary>A real picture of <paramref name="width"/> × <paramref name="height"/>: red left half, blue right half.</summary>
    public static byte[] Picture(int width = 640, int height = 480, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Red);
            using var blue = new SKPaint { Color = SKColors.Blue };
            canvas.DrawRect(width / 2f, 0, width / 2f, height, blue);
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }

    public static async Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] bytes, string type = "image/jpeg", string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/photos") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return await client.SendAsync(request);
    }

    private static async Task<string> PhotoIdAsync(HttpClient client, byte[]? bytes = null, string type = "image/jpeg")
    {
        var response = await UploadAsync(client, bytes ?? Picture(), type);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(TestCity City, string Worker)> CityAsync()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(api.Grains);
        return (city, worker);
    }

    [Fact]
    public async Task An_upload_is_checked_scaled_and_stripped_and_a_retry_with_its_key_lands_once()
    {
        using var resident = api.As("resident-photo-1", "resident");
        var big = await UploadAsync(resident, Picture(4000, 3000));
        Assert.Equal(HttpStatusCode.Created, big.StatusCode);
        var info = (await big.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((1600, 1200), (info["width"]!.GetValue<int>(), info["height"]!.GetValue<int>()));

        // Stored as JPEG at 1600 px; its thumbnail is 320 px wide and still red on the left, blue on the right.
        var stored = await resident.GetByteArrayAsync(info["url"]!.GetValue<string>());
        using (var decoded = SKBitmap.Decode(stored))
        {
            Assert.Equal(1600, decoded.Width);
        }

        var thumbnail = await resident.GetAsync(info["thumbnail"]!.GetValue<string>());
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType!.MediaType);
        Assert.Contains("private", thumbnail.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        using (var small = SKBitmap.Decode(await thumbnail.Content.ReadAsByteArrayAsync()))
        {
            Assert.Equal((320, 240), (small.Width, small.Height));
            Assert.True(small.GetPixel(40, 120).Red > 200 && small.GetPixel(280, 120).Blue > 200);
        }

        // PNG is taken too; the same key again answers 200 with the same photo.
        var first = await UploadAsync(resident, Picture(format: SKEncodedImageFormat.Png), "image/png", key: "queued-1");
        var again = await UploadAsync(resident, Picture(format: SKEncodedImageFormat.Png), "image/png", key: "queued-1");
        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.OK), (first.StatusCode, again.StatusCode));
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>(),
            (await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("text/plain", "Content-Type")]     // not an image type
    [InlineData("image/png", "Content-Type")]      // a JPEG sent as PNG
    [InlineData("image/gif", "Content-Type")]
    public async Task A_wrong_type_is_a_400_naming_the_header(string type, string field)
    {
        using var resident = api.As("resident-photo-2", "resident");
        var response = await UploadAsync(resident, Picture(), type);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bytes_that_are_no_picture_are_a_400_and_too_many_are_a_413()
    {
        using var resident = api.As("resident-photo-3", "resident");
        var garbage = await UploadAsync(resident, Encoding.UTF8.GetBytes("<?php system($_GET['x']); ?>"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal("photo", (await garbage.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());

        var truncated = Picture();
        var cut = await UploadAsync(resident, truncated[..(truncated.Length / 2)]);
        Assert.Equal(HttpStatusCode.BadRequest, cut.StatusCode);

        var tooBig = await UploadAsync(resident, new byte[5 * 1024 * 1024 + 1]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await UploadAsync(api.Anonymous(), Picture())).StatusCode);
    }

    [Fact]
    public async Task A_resolve_with_a_photo_shows_it_in_the_timeline_to_the_incidents_readers_only()
    {
        var (city, worker) = await CityAsync();
        using var resident = api.As($"resident-{city.Code}", "resident");
        var reportPhoto = await PhotoIdAsync(resident);
        var reported = await resident.PostAsync("/api/incidents", Json($$"""
            {"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"Rubbish by the gate","photos":["{{reportPhoto}}"]}
            """));
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var incident = (await reported.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = incident["id"]!.GetValue<string>();
        Assert.Equal(reportPhoto, incident["timeline"]![0]!["photos"]![0]!.GetValue<string>());

        using var mine = api.AsWorker(worker, city.Grid);
        var photo = await PhotoIdAsync(mine);
        Assert.Equal(HttpStatusCode.OK, (await mine.PostAsync($"/api/incidents/{id}/acknowledge", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await mine.PostAsync($"/api/incidents/{id}/start", Json("{}"))).StatusCode);
        var resolved = await mine.PostAsync($"/api/incidents/{id}/resolve", Json($$"""{"reason":"swept","photos":["{{photo}}"]}"""));
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        var timeline = (await resolved.Content.ReadFromJsonAsync<JsonObject>())!["timeline"]!.AsArray();
        var entry = timeline.Single(e => e!["kind"]!.GetValue<string>() == "resolved")!;
        Assert.Equal(photo, entry["photos"]![0]!.GetValue<string>());

        // Whoever reads the incident sees both photos: the reporter, the worker, the grid's leader.
        using var leader = api.As($"leader-{city.Code}", "grid-leader", city.Grid);
        foreach (var client in new[] { resident, mine, leader })
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/photos/{photo}/thumbnail")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/photos/{reportPhoto}")).StatusCode);
        }

        // Nobody else: another resident, another grid's worker.
        using var stranger = api.As("resident-stranger", "resident");
        using var elsewhere = api.AsWorker("worker-elsewhere", "449901001001001");
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync($"/api/photos/{photo}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await elsewhere.GetAsync($"/api/photos/{photo}/thumbnail")).StatusCode);
    }

    [Fact]
    public async Task A_photo_is_its_uploaders_until_used_and_used_once()
    {
        var (city, worker) = await CityAsync();
        using var resident = api.As($"resident-{city.Code}-a", "resident");
        using var other = api.As($"resident-{city.Code}-b", "resident");
        var photo = await PhotoIdAsync(resident);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/photos/{photo}")).StatusCode);

        // Someone else may not use it in their report: 400 naming photos, and no incident is made.
        var stolen = await other.PostAsync("/api/incidents", Json($$"""
            {"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"Not my photo","externalId":"x1","photos":["{{photo}}"]}
            """));
        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Equal("photos", (await stolen.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        using var leader = api.As($"leader-{city.Code}", "grid-leader", city.Grid);
        var listed = await leader.GetFromJsonAsync<JsonObject>($"/api/incidents?grid={city.Grid}");
        Assert.Equal(0, listed!["total"]!.GetValue<int>());

        // Used in one report, it cannot be used in a second one.
        var first = await resident.PostAsync("/api/incidents", Json($$"""
            {"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"Mine","externalId":"y1","photos":["{{photo}}"]}
            """));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var second = await resident.PostAsync("/api/incidents", Json($$"""
            {"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"Mine again","externalId":"y2","photos":["{{photo}}"]}
            """));
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);

        // Malformed lists are 400 too; a refused step (not the assignee) binds nothing and changes nothing.
        var id = (await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var before = (await leader.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}"))!["version"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.BadRequest, (await resident.PostAsync("/api/incidents", Json($$"""
            {"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"x","photos":["../etc/passwd"]}
            """))).StatusCode);
        var leaderPhoto = await PhotoIdAsync(leader);
        var refused = await leader.PostAsync($"/api/incidents/{id}/resolve", Json($$"""{"photos":["{{leaderPhoto}}"]}"""));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(before, (await leader.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}"))!["version"]!.GetValue<long>());
        using var mine = api.AsWorker(worker, city.Grid);
        Assert.Equal(HttpStatusCode.BadRequest, (await mine.PostAsync($"/api/incidents/{id}/acknowledge", Json($$"""{"photos":["{{leaderPhoto}}"]}"""))).StatusCode);
        Assert.Equal(before, (await leader.GetFromJsonAsync<JsonObject>($"/api/incidents/{id}"))!["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_visits_photo_is_kept_with_the_visit_and_seen_by_the_grids_staff_only()
    {
        var (city, worker) = await CityAsync();
        using var leader = api.As($"leader-{city.Code}", "grid-leader", city.Grid);
        var created = await leader.PostAsync($"/api/grids/{city.Grid}/households", Json("""{"building":"1栋","unit":"101","size":2,"tags":["rented"]}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var household = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        using var mine = api.AsWorker(worker, city.Grid);
        var photo = await PhotoIdAsync(mine);
        var visited = await mine.PostAsync($"/api/households/{household}/visits", Json($$"""{"kind":"in-person","outcome":"ok","photos":["{{photo}}"]}"""));
        Assert.Equal(HttpStatusCode.Created, visited.StatusCode);
        var view = (await leader.GetFromJsonAsync<JsonObject>($"/api/households/{household}"))!;
        Assert.Equal(photo, view["lastVisit"]!["photos"]![0]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await leader.GetAsync($"/api/photos/{photo}")).StatusCode);
        using var resident = api.As($"resident-{city.Code}", "resident");
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/api/photos/{photo}")).StatusCode);
    }

    [Fact]
    public async Task A_refused_report_leaves_its_photo_staged_and_the_reporters_photos_are_theirs_alone_until_erased()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("a", [city.Grid]);
        var colleague = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(api.Grains);
        using var resident = api.As($"resident-{city.Code}-own", "resident");
        var photo = await PhotoIdAsync(resident);

        // The grain refuses the report (no description) after the photo was bound: it is staged again, and usable.
        var refused = await resident.PostAsync("/api/incidents", Json($$"""{"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"","photos":["{{photo}}"]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var reported = await resident.PostAsync("/api/incidents", Json($$"""{"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"Dumped sofa","photos":["{{photo}}"]}"""));
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var id = (await reported.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var assignee = (await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync()).Assignee!.Id;
        var other = assignee == worker ? colleague : worker;

        // A worker of the grid who is not the assignee reads the incident without personal data: not the reporter's photo.
        using var redacted = api.AsWorker(other, city.Grid);
        Assert.Equal(HttpStatusCode.OK, (await redacted.GetAsync($"/api/incidents/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await redacted.GetAsync($"/api/photos/{photo}")).StatusCode);
        using var mine = api.AsWorker(assignee, city.Grid);
        Assert.Equal(HttpStatusCode.OK, (await mine.GetAsync($"/api/photos/{photo}/thumbnail")).StatusCode);

        // Erasing the reporter's personal data erases their photos.
        Assert.Equal(HttpStatusCode.OK, (await resident.PostAsync($"/api/incidents/{id}/erase-personal-data", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await mine.GetAsync($"/api/photos/{photo}")).StatusCode);
    }

    [Fact]
    public async Task A_decline_sent_again_under_its_key_is_answered_and_a_key_reused_for_another_step_is_a_409()
    {
        var (city, worker) = await CityAsync();
        using var resident = api.As($"resident-{city.Code}-k", "resident");
        var reported = await resident.PostAsync("/api/incidents", Json($$"""{"category":"0101","severity":"routine","gridCode":"{{city.Grid}}","description":"x"}"""));
        var id = (await reported.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var mine = api.AsWorker(worker, city.Grid);

        async Task<HttpStatusCode> Step(string action, string key, string body = "{}")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/incidents/{id}/{action}") { Content = Json(body) };
            request.Headers.Add("Idempotency-Key", key);
            return (await mine.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Step("acknowledge", "k-1"));
        Assert.Equal(HttpStatusCode.Conflict, await Step("start", "k-1"));          // the same key on another step
        Assert.Equal(HttpStatusCode.OK, await Step("hand-back", "k-2", """{"reason":"not my trade"}"""));
        Assert.Equal(HttpStatusCode.OK, await Step("hand-back", "k-2", """{"reason":"not my trade"}"""));   // no longer theirs, and still answered
        var view = await api.Grains.GetGrain<IIncidentGrain>(id).GetAsync();
        Assert.Equal(1, view.Timeline.Count(e => e.Kind == IncidentEventKind.HandedBack));
        Assert.Equal(0, view.Timeline.Count(e => e.Kind == IncidentEventKind.WorkStarted));
    }
}
