namespace GridDispatch.Tests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls until <paramref name="check"/> holds (roll-ups are batched and one-way), failing after <paramref name="timeout"/>.</summary>
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> check, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        T value;
        while (true)
        {
            value = await read();
            if (check(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met in time{(what is null ? "" : ": " + what)}. Last value: {value}");
            }

            await Task.Delay(50);
        }
    }
}
