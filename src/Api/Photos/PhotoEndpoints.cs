using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Api.Endpoints;
using GridDispatch.Api.Http;
using GridDispatch.Domain;

namespace GridDispatch.Api.Photos;

/// <summary>
/// POST /api/photos takes one picture as the raw body (Content-Type image/jpeg, image/png or image/webp, at most 5 MiB)
/// and answers with its id; a report, an incident step, a campaign task's result or a visit then names it in
/// <c>photos</c>. GET /api/photos/{id} and …/thumbnail serve it to whoever may read what it was used for.
/// </summary>
public static class PhotoEndpoints
{
    public static RouteGroupBuilder MapPhotos(this RouteGroupBuilder api)
    {
        api.MapPost("/photos", UploadAsync).RequireRateLimiting(RateLimits.Intake)
            .Takes<byte[]>("image/jpeg", "image/png", "image/webp")
            .Produces<PhotoInfo>(StatusCodes.Status201Created).Produces<PhotoInfo>()
            .WithSummary("Upload a photo (the raw image, at most 5 MiB); it stays staged for its uploader until a command names it");
        api.MapGet("/photos/{id}", (string id, HttpContext http, ClaimsPrincipal user, IPhotoStore store, IGrainFactory grains, CategoryCatalog catalog) =>
            ServeAsync(id, thumbnail: false, http, user, store, grains, catalog)).Produces<byte[]>(StatusCodes.Status200OK, PhotoRecord.ContentType);
        api.MapGet("/photos/{id}/thumbnail", (string id, HttpContext http, ClaimsPrincipal user, IPhotoStore store, IGrainFactory grains, CategoryCatalog catalog) =>
            ServeAsync(id, thumbnail: true, http, user, store, grains, catalog)).Produces<byte[]>(StatusCodes.Status200OK, PhotoRecord.ContentType);
        return api;
    }

    /// <summary>What POST /api/photos answers.</summary>
    public sealed record PhotoInfo(string Id, int Width, int Height, int Size, string Url, string Thumbnail)
    {
        public static PhotoInfo Of(PhotoRecord p) => new(p.Id, p.Width, p.Height, p.Size, $"/api/photos/{p.Id}", $"/api/photos/{p.Id}/thumbnail");
    }

    private static async Task<IResult> UploadAsync(HttpRequest request, ClaimsPrincipal user, IPhotoStore store, EngineClock clock)
    {
        var caller = Caller.From(user);
        Policy.Require(caller, Act.PhotoUpload, Target.Nothing);
        var key = IdempotencyKey.Of(request);
        var upload = await JsonBody.ReadLimitedAsync(request, PhotoLimits.MaxUploadBytes);
        if (upload.Length == 0)
        {
            throw new DomainException(DomainErrors.InvalidInput, "The body is empty: send the picture itself", "photo");
        }

        var prepared = PhotoImages.Prepare(upload, request.ContentType);
        // With an Idempotency-Key (a phone sending again what it queued offline) the id is the caller's and the key's,
        // so the retry finds the photo it stored the first time.
        var id = "ph" + (key.Length > 0
            ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{caller.Id}\u001f{key}")))[..32]
            : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var photo = new PhotoRecord(id, caller.Id, null, prepared.Image.Length, prepared.Width, prepared.Height, clock.Now);
        var stored = await store.SaveAsync(photo, prepared.Image, prepared.Thumbnail)
            ?? throw new DomainException(DomainErrors.Conflict,
                $"You have {PhotoLimits.MaxStaged} photos not yet used in a report or step; use them, or wait a day until they are removed", "photo");
        if (stored.Uploader != caller.Id)
        {
            throw new DomainException(DomainErrors.Conflict, "This Idempotency-Key names another upload", IdempotencyKey.Header);
        }

        return stored == photo ? Results.Created($"/api/photos/{id}", PhotoInfo.Of(stored)) : Results.Ok(PhotoInfo.Of(stored));
    }

    private static async Task<IResult> ServeAsync(string id, bool thumbnail, HttpContext http, ClaimsPrincipal user, IPhotoStore store,
        IGrainFactory grains, CategoryCatalog catalog)
    {
        var caller = Caller.From(user);
        var photo = Identifiers.IsPhotoId(id) ? await store.GetAsync(id) : throw new DomainException(DomainErrors.InvalidInput, "A photo id is 'ph' and 32 hex digits", "id");
        // A staged photo is its uploader's alone; anyone else is told it does not exist, as for a photo that never did.
        if (photo is null || (photo.Subject is null && photo.Uploader != caller.Id))
        {
            throw new DomainException(DomainErrors.NotFound, $"No photo {id}", "id");
        }

        if (photo.Subject is { } subject)
        {
            await RequireSightAsync(caller, subject, id, http, user, grains, catalog);
        }

        var bytes = await store.ReadAsync(id, thumbnail) ?? throw new DomainException(DomainErrors.NotFound, $"No photo {id}", "id");
        // A photo never changes once stored: the browser may keep it, but no shared cache may.
        http.Response.Headers.CacheControl = "private, max-age=86400, immutable";
        return Results.Bytes(bytes, PhotoRecord.ContentType);
    }

    /// <summary>A bound photo is seen by whoever may read its subject, decided by the same policy rows.</summary>
    /// <remarks>The reporter's own photos (those of the report) are personal data: only readers who may see the reporter see them.</remarks>
    private static async Task RequireSightAsync(Caller caller, string subject, string photo, HttpContext http, ClaimsPrincipal user, IGrainFactory grains,
        CategoryCatalog catalog)
    {
        var (kind, id) = PhotoSubjects.Parse(subject);
        switch (kind)
        {
            case PhotoSubjects.Incident:
                var view = await grains.GetGrain<IIncidentGrain>(id).GetAsync();
                http.AuditRegion(view.GridCode);
                var decision = Policy.Require(caller, Act.IncidentRead, Target.Of(view, catalog));
                if (decision.Sight == Sight.Redacted && view.Timeline.Any(e => e.Kind == IncidentEventKind.Reported && e.Photos?.Ids.Contains(photo) == true))
                {
                    throw new DomainException(DomainErrors.NotAllowed, "The reporter's photos are shown only to those who may see the reporter", "id");
                }

                break;
            case PhotoSubjects.Task:
                var task = await grains.GridOf(id).GetSweepTaskAsync(id);
                http.AuditRegion(task.GridCode);
                Policy.Require(caller, Act.TaskRead, Target.Of(task));
                break;
            case PhotoSubjects.Household:
                HouseholdEndpoints.Household(http, user, id, Act.HouseholdRead);
                break;
            default:
                throw new InvalidOperationException($"Unknown photo subject '{subject}'");
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> with the photos it names bound to its subject: bound after the policy let the
    /// caller do the command and before it is sent (so no timeline ever names a photo that is not bound to it), and
    /// staged again when the command is refused or fails, so a refused call leaves its photos as they were. 400 naming
    /// the photo when one is missing, someone else's or used elsewhere.
    /// </summary>
    public static async Task<T> WithPhotosAsync<T>(IPhotoStore store, Caller caller, IReadOnlyList<string>? photos, string subject,
        Func<PhotoList?, Task<T>> command, string field = "photos")
    {
        if (photos is null || photos.Count == 0)
        {
            return await command(null);
        }

        Identifiers.RequirePhotos(photos, field);
        var ids = PhotoList.Of(photos)!;
        var (refusal, photo, bound) = await store.AttachAsync(ids.Ids, caller.Id, subject);
        if (refusal != BindRefusal.None)
        {
            throw refusal switch
            {
                BindRefusal.Missing or BindRefusal.NotYours =>
                    new DomainException(DomainErrors.InvalidInput, $"No photo {photo} of yours: upload it with POST /api/photos first (uploads are kept a day)", field),
                BindRefusal.UsedElsewhere => new DomainException(DomainErrors.InvalidInput, $"Photo {photo} is already used elsewhere", field),
                _ => new DomainException(DomainErrors.InvalidInput, $"This already holds {PhotoLimits.MaxPerSubject} photos", field),
            };
        }

        try
        {
            return await command(ids);
        }
        catch when (bound.Count > 0)
        {
            try
            {
                await store.ReleaseAsync(bound, subject);
            }
            catch (StoreUnavailableException)
            {
                // The store is away: the photos stay bound to a subject that does not show them, counted in its bound.
            }

            throw;
        }
    }
}

/// <summary>What a photo can be bound to: "incident:{id}", "task:{id}", "household:{id}".</summary>
public static class PhotoSubjects
{
    public const string Incident = "incident";
    public const string Task = "task";
    public const string Household = "household";

    public static string Of(string kind, string id) => $"{kind}:{id}";

    public static (string Kind, string Id) Parse(string subject)
    {
        var colon = subject.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? (subject[..colon], subject[(colon + 1)..]) : ("", subject);
    }
}

/// <summary>Removes staged photos nobody used within <see cref="PhotoLimits.StagedFor"/>, hourly.</summary>
public sealed partial class PhotoPurge(IPhotoStore store, EngineClock clock, ILogger<PhotoPurge> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        do
        {
            try
            {
                var removed = await store.PurgeStagedAsync(clock.Now - PhotoLimits.StagedFor);
                if (removed > 0)
                {
                    LogPurged(removed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 9401, Level = LogLevel.Information, Message = "Removed {Count} staged photos nobody used within a day")]
    private partial void LogPurged(int count);

    [LoggerMessage(EventId = 9402, Level = LogLevel.Warning, Message = "Could not remove unused staged photos; trying again in an hour")]
    private partial void LogFailed(Exception ex);
}
