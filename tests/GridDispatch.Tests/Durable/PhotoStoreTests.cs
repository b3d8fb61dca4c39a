using GridDispatch.Api.Photos;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// The photo store's contract on PostgreSQL (migration 013) and in memory: a save is idempotent on its id, staged photos
/// are bounded per uploader, a bind is all or none and bounded per subject, and only staged photos are purged.
/// </summary>
public abstract class PhotoStoreContract
{
    protected abstract Task<IPhotoStore> StoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static PhotoRecord Photo(string uploader, DateTimeOffset? at = null) =>
        new("ph" + Guid.NewGuid().ToString("N"), uploader, null, 3, 4, 3, at ?? T0);

    private static (BindRefusal, string?) Refusal((BindRefusal Refusal, string? Photo, IReadOnlyList<string> Bound) r) => (r.Refusal, r.Photo);

    private static readonly byte[] Image = [1, 2, 3];
    private static readonly byte[] Thumb = [9];

    [Fact]
    public async Task A_photo_is_stored_once_read_back_and_bound_all_or_none()
    {
        var store = await StoreAsync();
        var uploader = "u-" + Guid.NewGuid().ToString("N")[..8];
        var a = Photo(uploader);
        var b = Photo(uploader);
        Assert.Equal(a, await store.SaveAsync(a, Image, Thumb));
        Assert.Equal(a.Id, (await store.SaveAsync(a with { Size = 99 }, [7, 7], [7]))!.Id);      // the same id again: the first one stays
        await store.SaveAsync(b, Image, Thumb);
        Assert.Equal(Image, await store.ReadAsync(a.Id, thumbnail: false));
        Assert.Equal(Thumb, await store.ReadAsync(a.Id, thumbnail: true));
        Assert.Null(await store.GetAsync("ph" + Guid.NewGuid().ToString("N")));

        // One of the two is not the caller's: neither is bound.
        var subject = "incident:" + Guid.NewGuid().ToString("N");
        var theirs = Photo("someone-else");
        await store.SaveAsync(theirs, Image, Thumb);
        Assert.Equal((BindRefusal.NotYours, theirs.Id), Refusal(await store.AttachAsync([b.Id, theirs.Id], uploader, subject)));
        Assert.Equal((BindRefusal.Missing, "ph" + new string('0', 32)), Refusal(await store.AttachAsync([b.Id, "ph" + new string('0', 32)], uploader, subject)));
        Assert.Null((await store.GetAsync(b.Id))!.Subject);

        var bound = await store.AttachAsync([a.Id, b.Id], uploader, subject);
        Assert.Equal((BindRefusal.None, null), (bound.Refusal, bound.Photo));
        Assert.Equal(new[] { a.Id, b.Id }.Order(StringComparer.Ordinal), bound.Bound.Order(StringComparer.Ordinal));
        Assert.Equal(subject, (await store.GetAsync(a.Id))!.Subject);
        // Named again by the same subject (a retried command) it is fine and binds nothing new; by another it is used elsewhere.
        var again = await store.AttachAsync([a.Id], "a-supervisor", subject);
        Assert.Equal((BindRefusal.None, 0), (again.Refusal, again.Bound.Count));
        Assert.Equal((BindRefusal.UsedElsewhere, a.Id), Refusal(await store.AttachAsync([a.Id], uploader, "incident:other")));

        // A command that was refused after its photos were bound stages them again; deleted photos are gone.
        await store.ReleaseAsync([b.Id], subject);
        Assert.Null((await store.GetAsync(b.Id))!.Subject);
        await store.ReleaseAsync([a.Id], "incident:other");       // not bound there: unchanged
        Assert.Equal(subject, (await store.GetAsync(a.Id))!.Subject);
        await store.DeleteAsync([a.Id]);
        Assert.Null(await store.GetAsync(a.Id));
        Assert.Null(await store.ReadAsync(a.Id, thumbnail: true));
    }

    [Fact]
    public async Task Staged_photos_are_bounded_per_uploader_bound_ones_per_subject_and_only_staged_ones_are_purged()
    {
        var store = await StoreAsync();
        var uploader = "u-" + Guid.NewGuid().ToString("N")[..8];
        var staged = new List<PhotoRecord>();
        for (var i = 0; i < PhotoLimits.MaxStaged; i++)
        {
            staged.Add((await store.SaveAsync(Photo(uploader, T0.AddMinutes(i)), Image, Thumb))!);
        }

        Assert.Null(await store.SaveAsync(Photo(uploader), Image, Thumb));
        Assert.NotNull(await store.SaveAsync(Photo(uploader + "-2"), Image, Thumb));     // someone else's quota is their own

        var subject = "task:" + Guid.NewGuid().ToString("N");
        Assert.Equal(BindRefusal.None, (await store.AttachAsync([.. staged.Take(20).Select(p => p.Id)], uploader, subject)).Refusal);
        for (var round = 0; round < 2; round++)
        {
            var more = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                more.Add((await store.SaveAsync(Photo(uploader, T0.AddHours(2)), Image, Thumb))!.Id);
            }

            Assert.Equal(BindRefusal.None, (await store.AttachAsync(more, uploader, subject)).Refusal);
        }

        // The subject holds 60 now: one more is refused, and stays staged.
        Assert.Equal(BindRefusal.SubjectFull, (await store.AttachAsync([staged[20].Id], uploader, subject)).Refusal);
        Assert.Null((await store.GetAsync(staged[20].Id))!.Subject);

        // The purge takes the staged photos uploaded before the cut-off, never a bound one, however old.
        var removed = await store.PurgeStagedAsync(T0.AddMinutes(25));
        Assert.True(removed >= 5, $"removed {removed}");
        Assert.Null(await store.GetAsync(staged[20].Id));
        Assert.NotNull(await store.GetAsync(staged[0].Id));
        Assert.NotNull(await store.GetAsync(staged[29].Id));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresPhotoStoreTests(PostgresServer postgres) : PhotoStoreContract
{
    private static string? _connectionString;

    protected override async Task<IPhotoStore> StoreAsync()
    {
        if (_connectionString is null)
        {
            var connection = await postgres.CreateDatabaseAsync($"gd_photos_{Guid.NewGuid():N}"[..24]);
            await SchemaMigrator.MigrateAsync(connection);
            _connectionString = connection;
        }

        return new PostgresPhotoStore(new DatabaseOptions { ConnectionString = _connectionString });
    }
}

public sealed class MemoryPhotoStoreTests : PhotoStoreContract
{
    protected override Task<IPhotoStore> StoreAsync() => Task.FromResult<IPhotoStore>(new MemoryPhotoStore());
}
