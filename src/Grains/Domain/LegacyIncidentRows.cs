namespace GridDispatch.Domain;

/// <summary>
/// Whether state rows of incidents (grain state "incident", written before the timeline became the store) may still
/// exist. Only then does an activating incident look for one: the new version never writes such a row for a new
/// incident, so on a database without them an activation is one read (its timeline), not two. Asked once per silo;
/// rows of an older version running beside this one after that are not seen (upgrade by stopping the old silos).
/// </summary>
public interface ILegacyIncidentRows
{
    Task<bool> MayExistAsync();
}

/// <summary>The embedded default: its in-memory grain storage starts empty, so it holds no incident row of an older version.</summary>
public sealed class NoLegacyIncidentRows : ILegacyIncidentRows
{
    public Task<bool> MayExistAsync() => Task.FromResult(false);
}
