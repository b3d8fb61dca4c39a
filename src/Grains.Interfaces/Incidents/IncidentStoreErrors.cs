namespace GridDispatch;

/// <summary>
/// The incident's store could not take an append or a read now (the database is away, a timeout). Serializable, so it
/// crosses silos to the API, which answers 503 with Retry-After; the command did not happen.
/// </summary>
[GenerateSerializer, Alias("GridDispatch.StoreUnavailableException")]
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Another writer appended to the incident first (two activations of one incident): the append did not happen.</summary>
[GenerateSerializer, Alias("GridDispatch.IncidentConflictException")]
public sealed class IncidentConflictException : Exception
{
    public IncidentConflictException(string incidentId, int expectedVersion)
        : base($"Incident {incidentId} is past version {expectedVersion}: another writer appended first")
    {
        IncidentId = incidentId;
        ExpectedVersion = expectedVersion;
    }

    [Id(0)]
    public string IncidentId { get; }

    [Id(1)]
    public int ExpectedVersion { get; }
}
