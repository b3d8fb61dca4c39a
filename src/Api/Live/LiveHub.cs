using System.Collections.Concurrent;
using GridDispatch.Api.Auth;
using GridDispatch.Domain;
using Microsoft.AspNetCore.SignalR;

namespace GridDispatch.Api.Live;

/// <summary>
/// Topics: <c>city</c>, <c>region:{code}</c>, <c>grid:{code}</c>, <c>worker:{id}</c>, <c>incident:{id}</c>.
/// Subscribing returns a versioned snapshot of the topic's entity, so a client that (re)connects starts from the current
/// state and then applies pushes newer than that version. Pushes are sent by <see cref="LiveRelay"/>; the hub only
/// manages membership. Every subscription is checked against the caller's role and region, as the HTTP routes are.
/// </summary>
public sealed class LiveHub(IGrainFactory grains, LiveSubscriptions subscriptions, Endpoints.GridLocator city, CategoryCatalog catalog, Audit.IAuditLog audit) : Hub
{
    public async Task<object> Subscribe(string topic)
    {
        var caller = CallerOrRefuse();
        object snapshot;
        try
        {
            snapshot = await LiveAccess.SnapshotAsync(grains, city, catalog, caller, topic);
        }
        catch (HubException)
        {
            if (Context.GetHttpContext() is { } http)
            {
                audit.Append(Audit.AuditMiddleware.Entry(http, "SUBSCRIBE /hubs/live", topic, LiveAccess.RegionOf(topic), StatusCodes.Status403Forbidden));
            }

            throw;
        }

        // Joined first, then recorded: the access review only ever removes what it can see, so nothing joined stays untracked.
        await Groups.AddToGroupAsync(Context.ConnectionId, topic);
        subscriptions.Add(Context.ConnectionId, topic, caller);
        return snapshot;
    }

    /// <summary>
    /// This host's clock. Every push carries the time its entity changed (<c>changedAt</c>); a client that shows or
    /// measures how old a push is corrects its own clock by this (the round trip's midpoint against this answer).
    /// </summary>
    public DateTimeOffset ServerTime() => DateTimeOffset.UtcNow;

    private Caller CallerOrRefuse()
    {
        try
        {
            return Caller.From(Context.User!);
        }
        catch (DomainException e)
        {
            throw new HubException($"{e.Code}: {e.Message}");
        }
    }

    public async Task Unsubscribe(string topic)
    {
        subscriptions.Remove(Context.ConnectionId, topic);
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, topic);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        subscriptions.RemoveConnection(Context.ConnectionId);
        return Task.CompletedTask;
    }
}

/// <summary>Which topics have subscribers on this host, so only those are buffered and pushed.</summary>
public sealed class LiveSubscriptions
{
    private readonly ConcurrentDictionary<string, HashSet<string>> _byConnection = new();
    private readonly ConcurrentDictionary<string, Caller> _callers = new();
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public bool Any(string topic) => _counts.TryGetValue(topic, out var n) && n > 0;

    /// <summary>Every connection's caller and topics right now (for the access review).</summary>
    public IReadOnlyList<(string Connection, Caller Caller, string[] Topics)> Snapshot()
    {
        var connections = new List<(string, Caller, string[])>();
        foreach (var (connection, topics) in _byConnection)
        {
            if (_callers.TryGetValue(connection, out var caller))
            {
                lock (topics)
                {
                    connections.Add((connection, caller, [.. topics]));
                }
            }
        }

        return connections;
    }

    public void Add(string connection, string topic, Caller caller)
    {
        _callers[connection] = caller;
        var topics = _byConnection.GetOrAdd(connection, _ => new HashSet<string>(StringComparer.Ordinal));
        lock (topics)
        {
            if (topics.Add(topic))
            {
                _counts.AddOrUpdate(topic, 1, (_, n) => n + 1);
            }
        }
    }

    public void Remove(string connection, string topic)
    {
        if (_byConnection.TryGetValue(connection, out var topics))
        {
            lock (topics)
            {
                if (topics.Remove(topic))
                {
                    _counts.AddOrUpdate(topic, 0, (_, n) => Math.Max(0, n - 1));
                }
            }
        }
    }

    public void RemoveConnection(string connection)
    {
        _callers.TryRemove(connection, out _);
        if (_byConnection.TryRemove(connection, out var topics))
        {
            lock (topics)
            {
                foreach (var topic in topics)
                {
                    _counts.AddOrUpdate(topic, 0, (_, n) => Math.Max(0, n - 1));
                }
            }
        }
    }
}

public static class LiveTopics
{
    public static (string Kind, string Key)? Parse(string? topic)
    {
        if (topic == "city")
        {
            return ("city", "");
        }

        var colon = topic?.IndexOf(':') ?? -1;
        if (colon <= 0 || topic!.Length > 100)
        {
            return null;
        }

        var (kind, key) = (topic[..colon], topic[(colon + 1)..]);
        return kind is "region" or "grid" or "worker" or "incident" && key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? (kind, key) : null;
    }

    /// <summary>
    /// Where an update goes: its own topic, plus — for an incident — its grid, every region above it and the city;
    /// for a grid or region summary — its parent's topic (whose view lists it as a child); for a worker — its home unit.
    /// </summary>
    public static IEnumerable<string> For(LiveUpdate u)
    {
        switch (u.Kind)
        {
            case LiveKind.Incident:
                yield return $"incident:{u.Id}";
                var grid = u.Incident!.GridCode;
                yield return $"grid:{grid}";
                foreach (var level in new[] { RegionLevel.Community, RegionLevel.Street, RegionLevel.District })
                {
                    yield return $"region:{RegionCode.AncestorAt(grid, level)}";
                }

                yield return "city";
                break;
            case LiveKind.Grid:
            case LiveKind.Region:
                yield return Own(u.Id);
                if (RegionCode.Parent(u.Id) is { } parent)
                {
                    yield return Own(parent);
                }

                break;
            case LiveKind.Worker:
                yield return $"worker:{u.Id}";
                if (RegionCode.IsValid(u.Worker!.HomeUnit))
                {
                    yield return Own(u.Worker.HomeUnit);
                }

                break;
        }
    }

    private static string Own(string code) => RegionCode.LevelOf(code) switch
    {
        RegionLevel.Grid => $"grid:{code}",
        RegionLevel.City => "city",
        _ => $"region:{code}",
    };
}
