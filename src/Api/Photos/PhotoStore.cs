namespace GridDispatch.Api.Photos;

/// <summary>
/// One stored photo. It is uploaded first (staged: only its uploader sees it), then used by a command naming it, which
/// binds it to that command's subject for good: <c>incident:{id}</c>, <c>task:{id}</c> or <c>household:{id}</c>. Who
/// may see a bound photo is who may read its subject.
/// </summary>
public sealed record PhotoRecord(
    string Id, string Uploader, string? Subject, int Size, int Width, int Height, DateTimeOffset UploadedAt)
{
    /// <summary>Every stored photo is a JPEG: the upload is re-encoded (which also drops its metadata, GPS included).</summary>
    public const string ContentType = "image/jpeg";
}

/// <summary>Why a photo could not be used by a command.</summary>
public enum BindRefusal
{
    None,
    Missing,
    NotYours,
    UsedElsewhere,
    SubjectFull,
}

/// <summary>
/// Where photos live: PostgreSQL (migration 013) on the durable setup, this process's memory on the embedded default.
/// Bounds, the same in both: <see cref="MaxStaged"/> staged photos per uploader, <see cref="MaxPerSubject"/> per subject,
/// staged photos older than <see cref="StagedFor"/> purged; bound photos are kept as long as their subject.
/// </summary>
public interface IPhotoStore
{
    /// <summary>
    /// Stores a staged photo, or returns the one already stored under its id (an upload retried with the same
    /// Idempotency-Key). Null when the uploader already holds <see cref="MaxStaged"/> staged photos.
    /// </summary>
    Task<PhotoRecord?> SaveAsync(PhotoRecord photo, byte[] image, byte[] thumbnail);

    Task<PhotoRecord?> GetAsync(string id);

    /// <summary>The JPEG bytes of the photo or of its thumbnail, or null when there is no such photo.</summary>
    Task<byte[]?> ReadAsync(string id, bool thumbnail);

    /// <summary>
    /// Binds every photo to <paramref name="subject"/>, all or none: each must exist and be staged by
    /// <paramref name="uploader"/> or already bound to this subject, and the subject must stay within
    /// <see cref="MaxPerSubject"/>. Returns the first refusal and the photo it concerns, or the photos this call bound
    /// (those that were staged).
    /// </summary>
    Task<(BindRefusal Refusal, string? Photo, IReadOnlyList<string> Bound)> AttachAsync(IReadOnlyList<string> ids, string uploader, string subject);

    /// <summary>Stages again photos a command bound and then did not use (it was refused): only those still bound to <paramref name="subject"/>.</summary>
    Task ReleaseAsync(IReadOnlyList<string> ids, string subject);

    /// <summary>Deletes photos for good (a reporter's, when their personal data is erased).</summary>
    Task DeleteAsync(IReadOnlyList<string> ids);

    /// <summary>Deletes staged photos uploaded before <paramref name="before"/>; returns how many.</summary>
    Task<int> PurgeStagedAsync(DateTimeOffset before);
}

public static class PhotoLimits
{
    /// <summary>Largest upload accepted (5 MiB); larger ones answer 413 before they are decoded.</summary>
    public const int MaxUploadBytes = 5 * 1024 * 1024;

    public const int MaxStaged = 30;

    public const int MaxPerSubject = 60;

    public static readonly TimeSpan StagedFor = TimeSpan.FromHours(24);
}

/// <summary>
/// The embedded default's photos, in this process's memory. Besides the store's own bounds it holds at most
/// <see cref="MaxBytes"/> of images: past that the oldest staged photos go first, and when only bound ones are left a
/// new upload is refused (the embedded default is a demonstration and test setup, not where a city keeps its photos).
/// </summary>
public sealed class MemoryPhotoStore : IPhotoStore
{
    public const long MaxBytes = 256L * 1024 * 1024;

    private readonly Dictionary<string, (PhotoRecord Photo, byte[] Image, byte[] Thumbnail)> _photos = new(StringComparer.Ordinal);
    private long _bytes;

    public Task<PhotoRecord?> SaveAsync(PhotoRecord photo, byte[] image, byte[] thumbnail)
    {
        lock (_photos)
        {
            if (_photos.TryGetValue(photo.Id, out var stored))
            {
                return Task.FromResult<PhotoRecord?>(stored.Photo);
            }

            if (_photos.Values.Count(p => p.Photo.Uploader == photo.Uploader && p.Photo.Subject is null) >= PhotoLimits.MaxStaged)
            {
                return Task.FromResult<PhotoRecord?>(null);
            }

            var size = image.LongLength + thumbnail.LongLength;
            foreach (var old in _photos.Values.Where(p => p.Photo.Subject is null).OrderBy(p => p.Photo.UploadedAt).ToList())
            {
                if (_bytes + size <= MaxBytes)
                {
                    break;
                }

                Remove(old.Photo.Id);
            }

            if (_bytes + size > MaxBytes)
            {
                throw new InsufficientStorageException();
            }

            _photos[photo.Id] = (photo, image, thumbnail);
            _bytes += size;
            return Task.FromResult<PhotoRecord?>(photo);
        }
    }

    public Task<PhotoRecord?> GetAsync(string id)
    {
        lock (_photos)
        {
            return Task.FromResult(_photos.TryGetValue(id, out var p) ? p.Photo : null);
        }
    }

    public Task<byte[]?> ReadAsync(string id, bool thumbnail)
    {
        lock (_photos)
        {
            return Task.FromResult(_photos.TryGetValue(id, out var p) ? (thumbnail ? p.Thumbnail : p.Image) : null);
        }
    }

    public Task<(BindRefusal Refusal, string? Photo, IReadOnlyList<string> Bound)> AttachAsync(IReadOnlyList<string> ids, string uploader, string subject)
    {
        lock (_photos)
        {
            var already = _photos.Values.Count(p => p.Photo.Subject == subject);
            var staged = new List<string>();
            foreach (var id in ids)
            {
                var refusal = PhotoBinding.Check(_photos.TryGetValue(id, out var p) ? p.Photo : null, uploader, subject);
                if (refusal != BindRefusal.None)
                {
                    return Task.FromResult<(BindRefusal, string?, IReadOnlyList<string>)>((refusal, id, []));
                }

                if (p.Photo.Subject is null)
                {
                    staged.Add(id);
                }
            }

            if (already + staged.Count > PhotoLimits.MaxPerSubject)
            {
                return Task.FromResult<(BindRefusal, string?, IReadOnlyList<string>)>((BindRefusal.SubjectFull, ids[0], []));
            }

            foreach (var id in staged)
            {
                var p = _photos[id];
                _photos[id] = p with { Photo = p.Photo with { Subject = subject } };
            }

            return Task.FromResult<(BindRefusal, string?, IReadOnlyList<string>)>((BindRefusal.None, null, staged));
        }
    }

    public Task ReleaseAsync(IReadOnlyList<string> ids, string subject)
    {
        lock (_photos)
        {
            foreach (var id in ids)
            {
                if (_photos.TryGetValue(id, out var p) && p.Photo.Subject == subject)
                {
                    _photos[id] = p with { Photo = p.Photo with { Subject = null } };
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(IReadOnlyList<string> ids)
    {
        lock (_photos)
        {
            foreach (var id in ids)
            {
                Remove(id);
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> PurgeStagedAsync(DateTimeOffset before)
    {
        lock (_photos)
        {
            var old = _photos.Values.Where(p => p.Photo.Subject is null && p.Photo.UploadedAt < before).Select(p => p.Photo.Id).ToList();
            old.ForEach(Remove);
            return Task.FromResult(old.Count);
        }
    }

    private void Remove(string id)
    {
        if (_photos.Remove(id, out var p))
        {
            _bytes -= p.Image.LongLength + p.Thumbnail.LongLength;
        }
    }
}

/// <summary>The rule both stores apply to each photo a command names.</summary>
public static class PhotoBinding
{
    public static BindRefusal Check(PhotoRecord? photo, string uploader, string subject) => photo switch
    {
        null => BindRefusal.Missing,
        { Subject: null } when photo.Uploader != uploader => BindRefusal.NotYours,
        { Subject: null } => BindRefusal.None,
        _ when photo.Subject == subject => BindRefusal.None,
        _ => BindRefusal.UsedElsewhere,
    };
}

/// <summary>The embedded default's photo memory is full of photos already in use (507).</summary>
public sealed class InsufficientStorageException() : Exception("The photo store is full");
