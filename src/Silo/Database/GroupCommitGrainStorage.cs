using System.Globalization;
using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The grains' storage on PostgreSQL: reads and clears through the ADO.NET provider (bounded, see
/// <see cref="BoundedGrainStorage"/>), writes through <see cref="GrainStateWriter"/>'s group commits, on the same rows
/// and with the same version numbers as the provider's, so the two halves read each other's rows and a database
/// written by an older build reads unchanged.
/// </summary>
public sealed class GroupCommitGrainStorage(IGrainStorage readsAndClears, GrainStateWriter writer, IGrainStorageSerializer serializer) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        readsAndClears.ReadStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        readsAndClears.ClearStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = GrainStateRowKey.Of(stateName, grainId);
        int? expected = string.IsNullOrWhiteSpace(grainState.ETag) ? null : int.Parse(grainState.ETag, CultureInfo.InvariantCulture);

        // Serialized now, on the grain's turn: the state written is the state at the call, whatever the grain does next.
        var payload = serializer.Serialize(grainState.State).ToArray();
        var version = await writer.WriteAsync(key, expected, payload);
        grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }
}
