using System.Collections.Concurrent;
using System.Collections.Immutable;
using GridDispatch.Live;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// The silo's live feed pushes a change after a quiet spell at once, and holds changes that follow within the flush
/// interval until its end, taking only the newest of each. Time is a hand-driven clock: its timers fire only when the
/// test says so, so "held" is checked without racing a real timer.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LiveFeedTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_change_after_a_quiet_spell_goes_at_once_and_the_ones_right_after_it_wait_for_the_interval()
    {
        var host = new RecordingHost();
        var reference = fixture.Grains.CreateObjectReference<ILiveObserver>(host);
        var hostId = "feed-test-" + Guid.NewGuid().ToString("N");
        await fixture.Grains.GetGrain<ILiveHostRegistryGrain>(0).RegisterAsync(hostId, reference);
        try
        {
            var clock = new HandClock();
            var feed = new LiveFeed(fixture.Grains, clock, NullLogger<LiveFeed>.Instance);
            var id = "feed-" + Guid.NewGuid().ToString("N");

            feed.Publish(Update(id, 1));
            await Eventually.Get(() => Task.FromResult(host.Versions(id)), v => v.SequenceEqual([1L]), TimeSpan.FromSeconds(10),
                "the first change, pushed with no timer firing");

            feed.Publish(Update(id, 2));
            feed.Publish(Update(id, 3));
            await Task.Delay(300);
            Assert.Equal([1L], host.Versions(id));      // held: on this clock the interval since the last flush never ends
            await Eventually.Get(() => Task.FromResult(clock.Pending), n => n == 1, TimeSpan.FromSeconds(10), "one flush waiting");

            clock.FireAll();
            await Eventually.Get(() => Task.FromResult(host.Versions(id)), v => v.SequenceEqual([1L, 3L]), TimeSpan.FromSeconds(10),
                "the held changes, as one push of the newest");
        }
        finally
        {
            await fixture.Grains.GetGrain<ILiveHostRegistryGrain>(0).UnregisterAsync(hostId);
            fixture.Grains.DeleteObjectReference<ILiveObserver>(reference);
        }
    }

    private static LiveUpdate Update(string id, long version) =>
        LiveUpdate.Of(new WorkerLoad(id, "feed test", WorkerKind.FullTime, WorkerStatus.Available, (int)version, 10, "none", 0), version, DateTimeOffset.UtcNow);

    private sealed class RecordingHost : ILiveObserver
    {
        private readonly ConcurrentQueue<LiveUpdate> _received = new();

        public Task OnUpdatesAsync(ImmutableArray<LiveUpdate> updates)
        {
            foreach (var u in updates)
            {
                _received.Enqueue(u);
            }

            return Task.CompletedTask;
        }

        public long[] Versions(string id) => [.. _received.Where(u => u.Id == id).Select(u => u.Version)];
    }

    /// <summary>Real wall time, a stopped stopwatch (no interval ever ends by itself), timers that fire only on <see cref="FireAll"/>.</summary>
    private sealed class HandClock : TimeProvider
    {
        private readonly ConcurrentQueue<(TimerCallback Callback, object? State)> _timers = new();

        public override long GetTimestamp() => 1;

        public int Pending => _timers.Count;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _timers.Enqueue((callback, state));
            return new Held();
        }

        public void FireAll()
        {
            while (_timers.TryDequeue(out var timer))
            {
                timer.Callback(timer.State);
            }
        }

        private sealed class Held : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
