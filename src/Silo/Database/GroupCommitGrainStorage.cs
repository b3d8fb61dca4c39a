using System.Globalization;
using System.Runtime.InteropServices;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The grains' storage on PostgreSQL: reads in batches (<see cref="GrainStateReader"/>), writes in group commits
/// (<see cref="GrainStateWriter"/>), clears (rare) through the ADO.NET provider, bounded by
/// <see cref="BoundedGrainStorage"/> — all on the provider's rows, with its row identity and version numbers, so a
/// database written by an older build reads unchanged and the provider reads what is written here.
/// </summary>
public sealed class GroupCommitGrainStorage(
    IGrainStorage clears, GrainStateReader reader, GrainStateWriter writer, IGrainStorageSerializer serializer, IActivatorProvider activators) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var stored = await reader.ReadAsync(GrainStateRowKey.Of(stateName, grainId));

        // As the provider reads: a cleared row (no payload) is a fresh state, not stored, at the row's version.
        grainState.State = stored?.Payload is { } payload ? serializer.Deserialize<T>(new BinaryData(payload)) : activators.GetActivator<T>().Create();
        grainState.ETag = stored?.Version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = stored?.Payload is not null;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        clears.ClearStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = GrainStateRowKey.Of(stateName, grainId);
        int? expected = string.IsNullOrWhiteSpace(grainState.ETag) ? null : int.Parse(grainState.ETag, CultureInfo.InvariantCulture);

        // Serialized now, on the grain's turn: the state written is the state at the call, whatever the grain does next.
        // (The serializer's buffer itself when it is a whole array, as Orleans' is: a state of a few KiB is not copied again.)
        var serialized = serializer.Serialize(grainState.State).ToMemory();
        var payload = MemoryMarshal.TryGetArray(serialized, out var segment) && segment is { Offset: 0, Array: { } array } && array.Length == segment.Count
            ? array
            : serialized.ToArray();
        var version = await writer.WriteAsync(key, expected, payload);
        grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }
}
