using GridDispatch.Domain;

namespace GridDispatch.Tests.Domain;

/// <summary>Writes asked for while one is in progress share the next one; a failure belongs to the callers of that write.</summary>
public sealed class SharedWriteTests
{
    private sealed class Writes
    {
        public readonly List<TaskCompletionSource> Started = [];

        public Task Write()
        {
            var write = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Started.Add(write);
            return write.Task;
        }
    }

    [Fact]
    public async Task Callers_during_a_write_share_one_next_write_that_starts_when_it_ends()
    {
        var writes = new Writes();
        var shared = new SharedWrite(writes.Write);

        var first = shared.WriteAsync();
        var second = shared.WriteAsync();
        var third = shared.WriteAsync();
        Assert.Single(writes.Started);     // the next write waits for the one in progress

        writes.Started[0].SetResult();
        await first;
        await WaitUntil(() => writes.Started.Count == 2);
        Assert.False(second.IsCompleted);  // the first write began before their changes: they wait for the second
        Assert.Same(second, third);

        var fourth = shared.WriteAsync();  // during the second write: waits for a third
        writes.Started[1].SetResult();
        await Task.WhenAll(second, third);
        await WaitUntil(() => writes.Started.Count == 3);
        Assert.False(fourth.IsCompleted);
        writes.Started[2].SetResult();
        await fourth;
        Assert.Equal(3, writes.Started.Count);
    }

    [Fact]
    public async Task A_failed_write_fails_only_its_own_callers_and_the_next_is_still_written()
    {
        var writes = new Writes();
        var shared = new SharedWrite(writes.Write);
        var first = shared.WriteAsync();
        var second = shared.WriteAsync();

        writes.Started[0].SetException(new InvalidOperationException("database away"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        await WaitUntil(() => writes.Started.Count == 2);
        writes.Started[1].SetResult();
        await second;

        var idle = shared.WriteAsync();    // nothing in progress: starts at once
        Assert.Equal(3, writes.Started.Count);
        writes.Started[2].SetException(new TimeoutException());
        await Assert.ThrowsAsync<TimeoutException>(() => idle);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition());
    }
}
