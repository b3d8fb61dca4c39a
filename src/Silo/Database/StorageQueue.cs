using System.Threading.Channels;
using GridDispatch.Domain;

namespace GridDispatch.Silo.Database;

/// <summary>
/// A silo's queue of storage operations and the one loop that takes them in batches (<see cref="RunAsync"/>). Bounded:
/// when it is full a caller waits for room, nothing is dropped. It starts with the storage providers, before grains
/// run, and stops after the grains are gone: it takes nothing new and finishes what is queued, unless the stop runs out
/// of time (then <see cref="Abort"/> is cancelled); whatever is left fails with <see cref="StoreUnavailableException"/>.
/// </summary>
public abstract class StorageQueue<T>(int capacity, string name) : ILifecycleParticipant<ISiloLifecycle>
    where T : class
{
    private Task? _running;

    protected Channel<T> Queue { get; } = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Cancelled when a stop runs out of time: the loop and its database calls give up.</summary>
    protected CancellationTokenSource Abort { get; } = new();

    /// <summary>Operations waiting for a batch.</summary>
    public int Backlog => Queue.Reader.Count;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(name, ServiceLifecycleStage.RuntimeStorageServices, StartAsync, StopAsync);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running ??= Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Queue.Writer.TryComplete();
        await using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), Abort))
        {
            if (_running is { } running)
            {
                await running;
            }
        }

        FailQueued([]);
    }

    /// <summary>Queues <paramref name="item"/>, waiting for room; refused once the queue is stopping.</summary>
    protected async Task EnqueueAsync(T item)
    {
        try
        {
            await Queue.Writer.WriteAsync(item);
        }
        catch (ChannelClosedException)
        {
            throw new StoreUnavailableException($"The {name} is stopping; the operation was not taken");
        }
    }

    /// <summary>Takes batches from <see cref="Queue"/> until it is completed and empty (or <see cref="Abort"/> is cancelled).</summary>
    protected abstract Task RunAsync();

    /// <summary>Fails an operation that will not be done: the queue stopped first.</summary>
    protected abstract void Fail(T item, StoreUnavailableException reason);

    /// <summary>Closes the queue and fails what is still in it, and <paramref name="taken"/>.</summary>
    protected void FailQueued(List<T> taken)
    {
        Queue.Writer.TryComplete();
        while (Queue.Reader.TryRead(out var queued))
        {
            taken.Add(queued);
        }

        foreach (var item in taken)
        {
            Fail(item, new StoreUnavailableException($"The {name} stopped before doing the operation; nothing was stored or read"));
        }
    }
}
