using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Live;

/// <summary>
/// The silo's collector of live updates. Grains hand it their changes in process — a method call, not a grain message,
/// so a change costs a dictionary write — and it keeps only the newest version per entity. A change after a quiet spell
/// is flushed at once (leading edge); changes within <see cref="FlushInterval"/> of the last flush wait for the end of
/// that interval and go together, so under load a host gets at most 100 batches a second (per topic the host's relay
/// coalesces again, at 20 pushes a second: see LiveRelay). A flush forwards the batch to
/// every registered web host; a host that fails is logged and skipped, never failing the batch for the others.
/// Flushes run one at a time, so a host sees batches in order. What is pending when the process dies is lost: screens
/// re-read state when they reconnect. Bound: one pending update per entity changed in the last <see cref="FlushInterval"/>.
/// </summary>
public sealed partial class LiveFeed(IGrainFactory grains, TimeProvider time, ILogger<LiveFeed> logger)
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan HostRefresh = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Dictionary<(LiveKind, string), LiveUpdate> _pending = [];
    private bool _armed;
    private long _lastFlush;
    private ImmutableArray<ILiveObserver> _hosts = [];
    private DateTimeOffset _hostsReadAt = DateTimeOffset.MinValue;

    public void Publish(LiveUpdate update)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var key = (update.Kind, update.Id);
            if (!_pending.TryGetValue(key, out var known) || known.Version <= update.Version)
            {
                _pending[key] = update;
            }

            if (_armed)
            {
                return;
            }

            _armed = true;
            var quiet = _lastFlush == 0 ? FlushInterval : time.GetElapsedTime(_lastFlush);
            wait = quiet >= FlushInterval ? TimeSpan.Zero : FlushInterval - quiet;
        }

        // Off the calling grain's scheduler: the flush is the silo's work, not part of any grain's turn.
        _ = Task.Run(() => FlushLaterAsync(wait));
    }

    private async Task FlushLaterAsync(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time).ConfigureAwait(false);
        }

        await _flushing.WaitAsync().ConfigureAwait(false);
        try
        {
            ImmutableArray<LiveUpdate> batch;
            lock (_gate)
            {
                batch = [.. _pending.Values];
                _pending = [];
                _armed = false;
                _lastFlush = time.GetTimestamp();
            }

            await SendAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task SendAsync(ImmutableArray<LiveUpdate> batch)
    {
        // With no host known yet, ask every flush (a host that just started must not wait for the next refresh).
        if (_hosts.IsEmpty || time.GetUtcNow() - _hostsReadAt > HostRefresh)
        {
            try
            {
                _hosts = await grains.GetGrain<ILiveHostRegistryGrain>(0).GetHostsAsync().ConfigureAwait(false);
                _hostsReadAt = time.GetUtcNow();
            }
            catch (Exception ex)
            {
                LogRegistryFailed(ex);
            }
        }

        foreach (var host in _hosts)
        {
            try
            {
                await host.OnUpdatesAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogHostFailed(ex);
            }
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Could not read the live host registry")]
    private partial void LogRegistryFailed(Exception ex);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "A live host did not take a batch")]
    private partial void LogHostFailed(Exception ex);
}
